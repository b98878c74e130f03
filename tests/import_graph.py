"""Who imports whom in the product's code, read from the source with ``ast`` (nothing runs).

``tests/test_architecture.py`` checks the arrows of docs/architecture.md against this graph.
Run it to see the import cycles between modules::

    python -m tests.import_graph            # every import, wherever it is written
    python -m tests.import_graph --top      # only imports that run when the module loads
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The product's top-level packages (tests and benchmarks import everything, on purpose).
PACKAGES = ("surveys", "web", "bot", "sms", "yjvoice")


@dataclass(frozen=True)
class Import:
    """One import statement: the module that has it, what it names, and where it is."""

    importer: str
    imported: str  # a module of ours, or the top-level name of a library
    line: int
    top_level: bool  # runs when the importer loads (not inside a function or TYPE_CHECKING)
    ours: bool = True

    def where(self) -> str:
        """Return ``path:line`` of the statement."""
        return f"{module_path(self.importer).relative_to(ROOT)}:{self.line}"


@dataclass(frozen=True)
class PrivateUse:
    """A module using another module's private name (``from m import _x`` or ``m._x``)."""

    user: str
    owner: str
    name: str
    line: int

    def where(self) -> str:
        """Return ``path:line`` of the use."""
        return f"{module_path(self.user).relative_to(ROOT)}:{self.line}"


def module_path(module: str) -> Path:
    """Return the file of a module of ours."""
    base = ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def modules(packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Return every module of the packages by dotted name (migrations included)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """Return the longest known module that ``name`` is, or is inside."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


class _Reader(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: dict[str, Path]) -> None:
        self.module, self.is_package, self.known = module, is_package, known
        self.found: list[Import] = []
        self.private: list[PrivateUse] = []
        self.aliases: dict[str, str] = {}  # local name -> module of ours it is bound to
        self._depth = 0  # inside a function or an ``if TYPE_CHECKING:`` block

    def _nested(self, node: ast.AST) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            self._nested(node)
        else:
            self.generic_visit(node)

    def _add(self, name: str, line: int) -> str | None:
        target = _resolve(name, self.known)
        if target is None:
            if name.split(".")[0] not in PACKAGES:
                top = name.split(".")[0]
                self.found.append(Import(self.module, top, line, self._depth == 0, ours=False))
            return None
        if target != self.module:
            self.found.append(Import(self.module, target, line, self._depth == 0))
        return target

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            target = self._add(alias.name, node.lineno)
            if target is not None and alias.asname:
                self.aliases[alias.asname] = target

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            package = self.module if self.is_package else self.module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        for alias in node.names:
            # ``from web.admin import review`` imports the module web.admin.review.
            full = f"{base}.{alias.name}"
            if full in self.known:
                self._add(full, node.lineno)
                self.aliases[alias.asname or alias.name] = full
                continue
            owner = self._add(base, node.lineno)
            if owner is not None and owner != self.module and _private(alias.name):
                self.private.append(PrivateUse(self.module, owner, alias.name, node.lineno))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and _private(node.attr):
            owner = self.aliases.get(node.value.id)
            if owner is not None and owner != self.module:
                self.private.append(PrivateUse(self.module, owner, node.attr, node.lineno))
        self.generic_visit(node)


@cache
def _read(packages: tuple[str, ...]) -> list[_Reader]:
    known = modules(packages)
    readers = []
    for name, path in known.items():
        reader = _Reader(name, path.name == "__init__.py", known)
        reader.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        readers.append(reader)
    return readers


def imports(packages: Iterable[str] = PACKAGES, *, libraries: bool = False) -> list[Import]:
    """Return every import between our modules (and of libraries, if asked), in file order."""
    return [i for r in _read(tuple(packages)) for i in r.found if i.ours or libraries]


def private_uses(packages: Iterable[str] = PACKAGES) -> list[PrivateUse]:
    """Return every use of another module's private name."""
    return [p for r in _read(tuple(packages)) for p in r.private]


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan), largest first."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups, key=lambda g: (-len(g), g))


def _report(top_only: bool) -> None:
    found = [i for i in imports() if i.top_level or not top_only]
    edges = {(i.importer, i.imported) for i in found}
    two_way = sorted({tuple(sorted((a, b))) for a, b in edges if (b, a) in edges})
    groups = cycles(edges)
    kind = "imports that run at load time" if top_only else "every import"
    print(f"{len(modules())} modules, {len(edges)} module-to-module arrows ({kind})")
    print(f"{len(groups)} import cycles (groups of modules that reach each other):")
    for group in groups:
        print(f"  {len(group)} modules: {', '.join(group)}")
    print(f"{len(two_way)} pairs that import each other directly:")
    for a, b in two_way:
        print(f"  {a} <-> {b}")


if __name__ == "__main__":
    _report(top_only="--top" in sys.argv[1:])
