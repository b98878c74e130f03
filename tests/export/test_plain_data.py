"""Export takes plain data: no module of surveys/export reads the database."""

import ast
from pathlib import Path

import surveys.export

FORBIDDEN = ("surveys.storage", "surveys.services", "sqlalchemy", "flask", "web", "bot")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_export_modules_import_nothing_that_reads_the_database():
    folder = Path(surveys.export.__file__).parent
    found = {
        f"{path.name}: {name}"
        for path in sorted(folder.glob("*.py"))
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not found
