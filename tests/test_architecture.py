"""The code keeps the arrows of docs/architecture.md: no part imports one it must not.

The allowed arrows are read from the table in docs/architecture.md, so changing the picture
means changing the page; imports are read from the source with ``ast`` (nothing is run).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.import_graph import ROOT, Import, cycles, imports, modules, private_uses

DOC = ROOT / "docs" / "architecture.md"
#: The namespace package of the domain: it holds the rooms and imports none of them.
NAMESPACE = "surveys"

#: Arrows that break the picture today and are being removed, with who removes them:
#: (importing module, imported part) -> why it is still here. This list only shrinks.
STILL_BEING_FIXED: dict[tuple[str, str], str] = {}

#: Libraries that would make the domain a web app, a Telegram bot or an SMS client.
CHANNEL_LIBRARIES = (
    "flask",
    "flask_limiter",
    "flask_login",
    "flask_wtf",
    "werkzeug",
    "telegram",
    "twilio",
    "notifications_python_client",
)
#: Libraries that talk to a database.
DATABASE_LIBRARIES = ("sqlalchemy", "alembic", "psycopg", "psycopg2", "redis")
#: Part -> libraries it must never import.
NEVER_IMPORTS = {
    "surveys": CHANNEL_LIBRARIES,
    "surveys.core": CHANNEL_LIBRARIES + DATABASE_LIBRARIES,
    "surveys.analysis": CHANNEL_LIBRARIES + DATABASE_LIBRARIES,
    "surveys.export": CHANNEL_LIBRARIES + DATABASE_LIBRARIES,
    "bot": ("flask", "flask_limiter", "flask_login", "flask_wtf", "werkzeug"),
}


def allowed_arrows() -> dict[str, set[str]]:
    """Return each part's allowed imports, read from the table in docs/architecture.md."""
    rules: dict[str, set[str]] = {}
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[-1] == "may import":
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and cells[0].startswith("`"):
            rules[cells[0].strip("`")] = set(re.findall(r"`([\w.]+)`", cells[-1]))
    assert rules, f"no 'may import' table found in {DOC}"
    return rules


RULES = allowed_arrows()


def part_of(module: str) -> str:
    """Return the part of the picture a module belongs to (the longest matching row)."""
    if module == NAMESPACE:
        return NAMESPACE
    matches = [p for p in RULES if module == p or module.startswith(p + ".")]
    assert matches, (
        f"{module} is in no part of docs/architecture.md: add a row saying what it holds and "
        "what it may import, and draw it in the picture"
    )
    return max(matches, key=len)


def backward_arrows() -> list[tuple[Import, str, str]]:
    """Return every import the table does not allow, with the two parts."""
    found = []
    for imp in imports():
        source, target = part_of(imp.importer), part_of(imp.imported)
        if source == target:
            continue
        if source == NAMESPACE or target not in RULES.get(source, set()):
            found.append((imp, source, target))
    return found


def test_every_module_belongs_to_a_part_of_the_picture():
    for module in modules():
        part_of(module)  # fails with the module's name


def test_the_picture_has_no_arrow_pointing_back():
    edges = [(part, target) for part, targets in RULES.items() for target in targets]
    unknown = {t for _, t in edges if t not in RULES}
    assert not unknown, f"the table allows imports of parts it does not list: {unknown}"
    assert cycles(edges) == [], "two parts of the picture may import each other"


def test_no_import_points_back():
    wrong = sorted(
        {
            f"{imp.where()}: {imp.importer} imports {imp.imported} ({source} -> {target})"
            for imp, source, target in backward_arrows()
            if (imp.importer, target) not in STILL_BEING_FIXED
        }
    )
    assert wrong == [], "imports docs/architecture.md does not allow:\n" + "\n".join(wrong)


def test_the_list_of_arrows_still_being_fixed_only_shrinks():
    present = {(imp.importer, target) for imp, _, target in backward_arrows()}
    gone = [pair for pair in STILL_BEING_FIXED if pair not in present]
    assert gone == [], f"fixed now, so delete from STILL_BEING_FIXED: {gone}"


@pytest.mark.parametrize(
    ("part", "other"),
    [
        ("surveys.core", "web"),
        ("surveys.core", "bot"),
        ("surveys.core", "surveys.storage"),
        ("surveys.analysis", "web"),
        ("surveys.analysis", "bot"),
        ("surveys.analysis", "surveys.storage"),
        ("surveys.export", "surveys.storage"),
        ("surveys.export", "surveys.services"),
        ("surveys.storage", "surveys.services"),
        ("bot", "web"),
    ],
)
def test_the_promised_arrows_never_point_back(part, other):
    # The promises docs/architecture.md states in words, checked even if the table drifts.
    wrong = sorted(
        {
            imp.where()
            for imp in imports()
            if part_of(imp.importer) == part
            and part_of(imp.imported) == other
            and (imp.importer, other) not in STILL_BEING_FIXED
        }
    )
    assert wrong == [], f"{part} imports {other} at {wrong}"


@pytest.mark.parametrize("part", sorted(NEVER_IMPORTS))
def test_the_domain_imports_no_channel_library_and_the_pure_parts_no_database(part):
    banned = NEVER_IMPORTS[part]
    wrong = sorted(
        {
            f"{imp.where()}: {imp.imported}"
            for imp in imports(libraries=True)
            if not imp.ours
            and (imp.importer == part or imp.importer.startswith(part + "."))
            and imp.imported in banned
        }
    )
    assert wrong == [], f"{part} imports libraries it must not: {wrong}"


def test_no_module_takes_another_modules_private_names():
    wrong = [f"{use.where()}: {use.owner}.{use.name}" for use in private_uses()]
    assert wrong == [], "make it public in the module it belongs to:\n" + "\n".join(wrong)


# ---- one way per chore in the web adapter ----------------------------------------------------
#: Web modules that still end a transaction by hand, being rewritten by others (only shrinks).
COMMITS_BY_HAND: dict[str, str] = {
    "web/admin/views.py": "sign-in and sign-out: the sign-in limits work rewrites them",
    "web/public.py": "the respondent form: moving onto the conversation service",
    "web/proposals.py": "the proposal form: moving onto the conversation service",
}


def _calls(path, names: set[str]) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
    ]


def _web_files() -> dict[str, Path]:
    return {
        str(path.relative_to(ROOT)): path
        for name, path in modules(("web",)).items()
        if name not in ("web", "web.transactions")  # the session's owner and the helper
    }


def test_views_end_their_changes_only_with_the_transaction_helper():
    wrong = [
        f"{rel}:{line}"
        for rel, path in _web_files().items()
        if rel not in COMMITS_BY_HAND
        for line in _calls(path, {"commit", "rollback"})
    ]
    assert wrong == [], "use `with transaction() as session:` (web/transactions.py): " + ", ".join(
        wrong
    )


def test_the_list_of_views_committing_by_hand_only_shrinks():
    files = _web_files()
    done = [rel for rel in COMMITS_BY_HAND if not _calls(files[rel], {"commit", "rollback"})]
    assert done == [], f"now one way, so delete from COMMITS_BY_HAND: {done}"


def test_every_error_page_is_rendered_by_web_errors():
    wrong = [
        rel
        for rel, path in _web_files().items()
        if rel != "web/errors.py" and '"message.html"' in path.read_text(encoding="utf-8")
    ]
    assert wrong == [], f"return error_page(...) or abort(status) instead, in {wrong}"
