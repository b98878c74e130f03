"""Local knowledge: allow- and deny-lists of phrases, from YAML validated on load.

The service's own local authority, towns and national institutions stay (``allow``); local
schools, staff and places always go (``deny``). A malformed file raises ConfigError naming
the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_CONFIG_PATH = DATA_DIR / "redact.yaml"


class ConfigError(ValueError):
    """A redaction YAML file is malformed; the message names the file and line."""


_ALLOW_KEYS = ("places", "institutions", "terms")
_DENY_KEYS = {"schools": "school", "staff": "name", "names": "name", "places": "place"}


def norm_phrase(text: str) -> str:
    """Fold a phrase for matching: case, curly apostrophes, runs of spaces."""
    text = text.replace("’", "'").casefold()
    return " ".join(text.split())


@dataclass(frozen=True)
class RedactConfig:
    """Local allow- and deny-lists (phrases, matched case-insensitively as whole words)."""

    allow: tuple[str, ...] = ()
    deny: tuple[tuple[str, str], ...] = ()  # (phrase, category)
    source: str = "<defaults>"

    @classmethod
    def from_yaml(cls, path: str | Path) -> RedactConfig:
        """Load and validate a redaction config file; raise ConfigError naming the line."""
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read redaction config: {exc}") from exc
        return cls.from_text(raw, source=str(path))

    @classmethod
    def from_text(cls, raw: str, *, source: str = "<string>") -> RedactConfig:
        """Parse and validate redaction config YAML given as text."""
        try:
            root = yaml.compose(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
        if root is None:
            return cls(source=source)
        _expect_mapping(root, source, "top level")
        allow: list[str] = []
        deny: list[tuple[str, str]] = []
        for key_node, value in root.value:
            key = key_node.value
            if key == "version":
                if value.value not in ("1",):
                    raise ConfigError(f"{source}:{_line(value)}: version must be 1")
            elif key == "allow":
                _expect_mapping(value, source, "allow")
                for sub, items in value.value:
                    if sub.value not in _ALLOW_KEYS:
                        raise ConfigError(
                            f"{source}:{_line(sub)}: unknown key allow.{sub.value} "
                            f"(expected one of {', '.join(_ALLOW_KEYS)})"
                        )
                    allow.extend(_phrases(items, source, f"allow.{sub.value}"))
            elif key == "deny":
                _expect_mapping(value, source, "deny")
                for sub, items in value.value:
                    if sub.value not in _DENY_KEYS:
                        raise ConfigError(
                            f"{source}:{_line(sub)}: unknown key deny.{sub.value} "
                            f"(expected one of {', '.join(_DENY_KEYS)})"
                        )
                    category = _DENY_KEYS[sub.value]
                    deny.extend((p, category) for p in _phrases(items, source, f"deny.{sub.value}"))
            else:
                raise ConfigError(
                    f"{source}:{_line(key_node)}: unknown key {key!r} "
                    "(expected version, allow, deny)"
                )
        return cls(allow=tuple(allow), deny=tuple(deny), source=source)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _expect_mapping(node: yaml.Node, source: str, what: str) -> None:
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{source}:{_line(node)}: {what} must be a mapping")


def _phrases(node: yaml.Node, source: str, what: str) -> list[str]:
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise ConfigError(f"{source}:{_line(node)}: {what} must be a list of phrases")
    out = []
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or not item.value.strip():
            raise ConfigError(f"{source}:{_line(item)}: {what} entries must be non-empty text")
        if len(item.value) > 200:
            raise ConfigError(f"{source}:{_line(item)}: {what} entry is longer than 200 characters")
        out.append(item.value.strip())
    return out


@cache
def default_config() -> RedactConfig:
    """Return the product's default allow/deny lists (data/redact.yaml)."""
    return RedactConfig.from_yaml(DEFAULT_CONFIG_PATH)


@dataclass(frozen=True)
class Compiled:
    """A config's phrases compiled to regular expressions."""

    allow_re: re.Pattern[str] | None
    allow_digits: frozenset[str]
    deny_re: re.Pattern[str] | None
    deny_category: dict[str, str]


def _phrase_regex(phrases: Sequence[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    parts = sorted({norm_phrase(p) for p in phrases}, key=len, reverse=True)
    body = "|".join(re.escape(p).replace(r"\ ", r"\s+").replace("'", "['’]") for p in parts)
    return re.compile(rf"(?<![\w@])(?:{body})(?![\w@])", re.IGNORECASE)


_COMPILED: dict[int, tuple[RedactConfig, Compiled]] = {}


def compiled(config: RedactConfig) -> Compiled:
    """Return the config compiled (cached per config object)."""
    hit = _COMPILED.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1]
    digits = frozenset(
        d for d in ("".join(ch for ch in p if ch.isdigit()) for p in config.allow) if len(d) >= 3
    )
    compiled = Compiled(
        allow_re=_phrase_regex(config.allow),
        allow_digits=digits,
        deny_re=_phrase_regex([p for p, _ in config.deny]),
        deny_category={norm_phrase(p): c for p, c in config.deny},
    )
    if len(_COMPILED) > 32:
        _COMPILED.clear()
    _COMPILED[id(config)] = (config, compiled)
    return compiled
