"""A fast first pass over the lexicon: which categories could match this answer at all?

The lexicon's categories are large Python regexes (``disclosure.py``), and Python's ``re``
tries every alternative at every word start: 15 categories cost about 400 µs an answer,
although a typical answer matches none. RE2 runs each category as an automaton in a few
microseconds, but it has no lookarounds, and its automaton for the full patterns grows
without bound (bounded gaps such as ``(?: \\w+){0,6}`` multiply its states).

So each category gets a *screen*: an RE2 regex that matches every text the category's
Python pattern matches, and usually nothing else. ``check`` runs a category's Python
pattern only where its screen matched; the Python pattern still decides, so the results
are the same to the character. A screen is built from the pattern's parse tree:

- lookarounds, ``\\b`` and anchors are dropped (a condition removed only widens a match);
- in each sequence with gaps (a repeat whose count may vary by more than one), only the
  gap-free run with the longest minimum length is kept: every match of ``A gap B`` contains
  a match of ``A`` and of ``B``, and the longer one rarely matches by chance;
- character classes keep their exact ASCII members, and any class that may hold a
  non-ASCII character holds them all (RE2's Unicode tables are older than Python's).

A screen that cannot be built leaves its category to Python alone. RE2's own search falls
back from its automaton to its slower NFA when the automaton runs out of memory, so a
screen never misses for lack of memory; it only gets slower.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from re import _constants as C  # type: ignore[attr-defined]  # the parser, kept by CPython
from re import _parser  # type: ignore[attr-defined]
from typing import Any

import re2

#: A repeat whose count may vary by more than this is a gap.
GAP = 1
#: Memory for each screen's automaton (RE2's max_mem). Measured over 24,298 texts: 16 MB
#: keeps every screen on its automaton, and a process with all fifteen grows by about 16 MB.
MAX_MEM = 16 << 20

_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (C.AT, C.ASSERT, C.ASSERT_NOT)
_SPACES = frozenset("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")
_CATEGORIES = {
    C.CATEGORY_DIGIT: lambda ch: ch.isdigit(),
    C.CATEGORY_NOT_DIGIT: lambda ch: not ch.isdigit(),
    C.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_",
    C.CATEGORY_NOT_WORD: lambda ch: not (ch.isalnum() or ch == "_"),
    C.CATEGORY_SPACE: lambda ch: ch in _SPACES,
    C.CATEGORY_NOT_SPACE: lambda ch: ch not in _SPACES,
}

Tree = list[tuple[Any, Any]]  # the parser's (op, argument) pairs
#: A compiled screen: given the answer's matching text as UTF-8, could the category match?
Screen = Callable[[bytes], bool]


class Unsupported(ValueError):
    """The pattern uses something a screen does not model (a back-reference, ``(?i)``)."""


def _char(code: int) -> str:
    return f"\\x{{{code:x}}}"


def _class(items: Tree) -> str:
    """An RE2 class holding every character the Python class holds."""
    negate, ascii_, wide = False, set(), False
    ranges: list[tuple[int, int]] = []
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            assert isinstance(av, int)
            (ascii_.add(av) if av < 128 else ranges.append((av, av)))
        elif op is C.RANGE:
            assert isinstance(av, tuple)
            lo, hi = av
            ascii_.update(range(lo, min(hi, 127) + 1))
            if hi > 127:
                ranges.append((max(lo, 128), hi))
        elif op is C.CATEGORY:
            ascii_.update(o for o in range(128) if _CATEGORIES[av](chr(o)))
            wide = True
        else:
            raise Unsupported(f"class item {op}")
    if negate:
        ascii_, wide = set(range(128)) - ascii_, True
    parts = [_char(o) for o in sorted(ascii_)]
    if wide:
        parts.append("\\x{80}-\\x{10ffff}")
    else:
        parts += [f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges]
    return "[" + "".join(parts) + "]" if parts else "[^\\x{0}-\\x{10ffff}]"


#: Flags that change what a literal or ``.`` matches: a screen does not model them.
_FLAGS = re.IGNORECASE | re.DOTALL


def _inner(op: Any, av: Any) -> Tree | None:
    if op is C.SUBPATTERN:
        if av[1] & _FLAGS:  # (?i:...) or (?s:...)
            raise Unsupported("a group with its own flags")
        return list(av[3])
    if op is C.ATOMIC_GROUP:
        return list(av)
    return None


def _is_gap(op: Any, av: Any) -> bool:
    if op not in _REPEATS:
        return False
    lo, hi, _ = av
    return bool(hi == C.MAXREPEAT or hi - lo > GAP)


def _has_gap(tree: Tree) -> bool:
    for op, av in tree:
        inner = _inner(op, av)
        if (
            _is_gap(op, av)
            or (op is C.BRANCH and any(_has_gap(list(b)) for b in av[1]))
            or (inner is not None and _has_gap(inner))
            or (op in _REPEATS and _has_gap(list(av[2])))
        ):
            return True
    return False


def _min_len(tree: Tree) -> int:
    n = 0
    for op, av in tree:
        inner = _inner(op, av)
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            n += 1
        elif op is C.BRANCH:
            n += min(_min_len(list(b)) for b in av[1])
        elif inner is not None:
            n += _min_len(inner)
        elif op in _REPEATS:
            n += av[0] * _min_len(list(av[2]))
    return n


def _exact(tree: Tree) -> str:
    """The same sequence in RE2's syntax, less its zero-width conditions."""
    out = []
    for op, av in tree:
        inner = _inner(op, av)
        if op is C.LITERAL:
            out.append(_char(av))
        elif op is C.NOT_LITERAL:
            out.append(_class([(C.NEGATE, None), (C.LITERAL, av)]))
        elif op is C.ANY:
            out.append("[^\\n]")
        elif op is C.IN:
            out.append(_class(list(av)))
        elif op in _ZERO_WIDTH:
            continue
        elif op is C.BRANCH:
            out.append("(?:" + "|".join(_exact(list(b)) for b in av[1]) + ")")
        elif inner is not None:
            out.append(f"(?:{_exact(inner)})")
        elif op in _REPEATS:
            lo, hi, body = av
            out.append(f"(?:{_exact(list(body))}){{{lo},{hi}}}")
        else:
            raise Unsupported(str(op))
    return "".join(out)


def _screen(tree: Tree) -> tuple[str, int]:
    """An RE2 regex that every match of ``tree`` contains a match of, and its minimum length."""
    if not _has_gap(tree):
        return _exact(tree), _min_len(tree)
    best: tuple[str, int] = ("", 0)  # the empty regex: matches everywhere
    run: Tree = []

    def keep(candidate: tuple[str, int]) -> None:
        nonlocal best
        if candidate[1] > best[1]:
            best = candidate

    for op, av in [*tree, (None, None)]:  # a sentinel closes the last run
        if op is not None and not _has_gap([(op, av)]):
            run.append((op, av))
            continue
        if run:
            keep((_exact(run), _min_len(run)))
            run = []
        inner = _inner(op, av)
        if op is C.BRANCH:  # each alternative screened on its own
            alternatives = [_screen(list(b)) for b in av[1]]
            keep(
                (
                    "(?:" + "|".join(a for a, _ in alternatives) + ")",
                    min(n for _, n in alternatives),
                )
            )
        elif inner is not None:
            keep(_screen(inner))
        elif op in _REPEATS and not _is_gap(op, av) and av[0] > 0:
            keep(_screen(list(av[2])))
    return best


def translate(pattern: re.Pattern[str]) -> str:
    """Return the RE2 screen for a Python pattern (raises :class:`Unsupported`)."""
    if pattern.flags & _FLAGS:
        raise Unsupported("case-insensitive or dot-all pattern")
    return _screen(list(_parser.parse(pattern.pattern, pattern.flags)))[0]


def compile_screen(pattern: re.Pattern[str]) -> Screen | None:
    """Return the compiled screen, or None when there is none (Python alone decides)."""
    options = re2.Options()
    options.max_mem = MAX_MEM
    options.never_capture = True
    options.log_errors = False
    try:
        # bytes in, bytes searched: the answer is encoded once for all fifteen screens
        regexp = re2.compile(translate(pattern).encode("utf-8"), options)
    except (Unsupported, re2.error):
        return None
    return lambda raw: regexp.search(raw) is not None
