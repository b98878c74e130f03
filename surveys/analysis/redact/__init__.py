"""Anonymise free-text answers before anything is published.

Young people write in lower case, with slang, misspellings and no punctuation, so
this is not an NER model: it combines compiled patterns (contact details, dates, ids,
postcodes, "<name> Road", "<name> Academy"), compact word lists derived from public
statistics (given names, surnames, English word frequencies; see data/LEXICONS.md) and
context cues ("my mate X", "Mr X", "X made me"). Every replacement is returned as a
``Span`` so a reviewer can see and undo each one; placeholders are consistent within
one answer (``[name]``, ``[name 2]`` ...).

Local knowledge lives in YAML (``RedactConfig``): an allow-list of the service's own
local authority, towns and national institutions that stay, and a deny-list of local
schools, staff and places that always go.

The package's modules follow the pipeline: ``config`` (allow/deny lists), ``lexicons`` (word
lists), ``patterns`` (contact details, dates, ids, postcodes), ``tokens``, ``places``
("<name> Road"), ``names`` (people), ``candidates`` and ``resolve`` (which span wins, and its
placeholder); ``spans`` holds what comes back.
"""

from __future__ import annotations

from collections.abc import Iterable

from surveys.analysis.redact.candidates import Candidate
from surveys.analysis.redact.config import (
    DATA_DIR,
    DEFAULT_CONFIG_PATH,
    ConfigError,
    RedactConfig,
    compiled,
    default_config,
)
from surveys.analysis.redact.lexicons import lexicon
from surveys.analysis.redact.names import find_names
from surveys.analysis.redact.patterns import find_patterns
from surveys.analysis.redact.places import find_places
from surveys.analysis.redact.resolve import choose, numbered_spans
from surveys.analysis.redact.spans import CATEGORIES, Redaction, Span, apply_spans, to_json
from surveys.analysis.redact.tokens import caps_unreliable, tokenise

__all__ = [
    "CATEGORIES",
    "DATA_DIR",
    "DEFAULT_CONFIG_PATH",
    "ConfigError",
    "RedactConfig",
    "Redaction",
    "Span",
    "apply_spans",
    "default_config",
    "redact",
    "redact_many",
    "to_json",
]


def redact(text: str, *, config: RedactConfig | None = None) -> Redaction:
    """Find identifying details in one answer and replace them with placeholders."""
    if not text or text.isspace():
        return Redaction(text, [])
    config = config if config is not None else default_config()
    comp = compiled(config)
    cands: list[Candidate] = []
    find_patterns(text, cands, comp.allow_digits)
    toks = tokenise(text)
    if toks:
        lex = lexicon()
        caps_ok = not caps_unreliable(toks)
        find_places(toks, text, cands, lex, caps_ok)
        find_names(toks, text, cands, lex, caps_ok)
    found = numbered_spans(choose(cands, text, comp), text)
    return Redaction(apply_spans(text, found), found)


def redact_many(texts: Iterable[str], *, config: RedactConfig | None = None) -> list[Redaction]:
    """Redact each text with one config (convenience for batch callers)."""
    config = config if config is not None else default_config()
    return [redact(t, config=config) for t in texts]
