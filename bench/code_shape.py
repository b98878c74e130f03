"""The code's shape, read with ``ast`` (nothing runs): module lengths, longest functions, cycles.

Works on any checkout, so that a past commit can be measured beside today's::

    python bench/code_shape.py                      # this checkout
    git worktree add /tmp/before fb63738            # a past commit, in a throwaway worktree
    python bench/code_shape.py --root /tmp/before
    git worktree remove /tmp/before

Modules are the ``.py`` files of the product's packages (migrations are left out: they are
written once and never read as code). An import cycle is a group of modules that reach each
other through imports (Tarjan's strongly connected components); "every import" counts those
inside functions too, "load time" only those that run when a module is imported.
``tests/import_graph.py`` reads today's tree the same way for the architecture test.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: this project's own helpers importable
    sys.path.insert(0, str(ROOT))

from tests.import_graph import cycles  # noqa: E402  (Tarjan's groups, as the test reads them)

PACKAGES = ("surveys", "web", "bot", "sms", "yjvoice")


@dataclass(frozen=True)
class Function:
    """One function or method: where it is and how many lines it spans (def to last line)."""

    module: str
    name: str
    lines: int


def product_modules(root: Path) -> dict[str, Path]:
    """Return the product's modules by dotted name, migrations left out."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def functions(module: str, tree: ast.Module) -> list[Function]:
    """Return every function and method of a module with its length in lines."""
    out: list[Function] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                out.append(
                    Function(module, name, (child.end_lineno or child.lineno) - child.lineno + 1)
                )
                walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")
            else:
                walk(child, prefix)

    walk(tree, "")
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _deferred(node: ast.AST) -> bool:
    """Return True for code that does not run when its module loads (a body, TYPE_CHECKING)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        return True
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def import_edges(
    module: str, path: Path, tree: ast.Module, known: dict[str, Path]
) -> set[tuple[str, str, bool]]:
    """Return (importer, imported, at load time) for each import of one of our modules."""
    edges: set[tuple[str, str, bool]] = set()

    def add(name: str, load: bool) -> None:
        target = _resolve(name, known)
        if target is not None and target != module:
            edges.add((module, target, load))

    def visit(node: ast.AST, load: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name, load)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                    for _ in range(child.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}" if base else package
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    add(full if full in known else base, load)
            else:
                visit(child, load and not _deferred(child))

    visit(tree, True)
    return edges


def report(root: Path, top: int) -> None:
    """Print the shape of the checkout at ``root``."""
    known = product_modules(root)
    lengths: dict[str, int] = {}
    funcs: list[Function] = []
    edges: set[tuple[str, str, bool]] = set()
    for name, path in known.items():
        source = path.read_text(encoding="utf-8")
        lengths[name] = len(source.splitlines())
        tree = ast.parse(source, str(path))
        funcs.extend(functions(name, tree))
        edges |= import_edges(name, path, tree, known)
    total = sum(lengths.values())
    print(f"{root}: {len(known)} modules, {total:,} lines (migrations left out)")
    print(
        f"  modules over 500 lines: {sum(n > 500 for n in lengths.values())}, "
        f"over 300: {sum(n > 300 for n in lengths.values())}; "
        f"median {sorted(lengths.values())[len(lengths) // 2]} lines"
    )
    print(f"longest {top} modules:")
    for name, n in sorted(lengths.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        print(f"  {n:5d}  {name}")
    print(
        f"{len(funcs)} functions; over 50 lines: {sum(f.lines > 50 for f in funcs)}, "
        f"over 100: {sum(f.lines > 100 for f in funcs)}"
    )
    print("longest 10 functions:")
    for f in sorted(funcs, key=lambda f: (-f.lines, f.module, f.name))[:10]:
        print(f"  {f.lines:5d}  {f.module}:{f.name}")
    for label, chosen in (("every import", edges), ("load time", {e for e in edges if e[2]})):
        pairs = {(a, b) for a, b, _ in chosen}
        groups = cycles(pairs)
        two_way = {tuple(sorted(p)) for p in pairs if (p[1], p[0]) in pairs}
        print(
            f"import cycles ({label}): {len(groups)} groups, "
            f"{sum(len(g) for g in groups)} modules in them, {len(two_way)} two-way pairs"
        )
        for group in groups:
            shown = ", ".join(group) if len(group) <= 8 else ", ".join(group[:8]) + ", ..."
            print(f"  {len(group)}: {shown}")


def main(argv: list[str] | None = None) -> None:
    """Measure a checkout (this one by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--top", type=int, default=15, help="how many modules to list")
    args = parser.parse_args(argv)
    report(args.root.resolve(), args.top)


if __name__ == "__main__":
    main()
