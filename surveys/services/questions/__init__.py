"""A service's own questions: local priorities, one-off consultations, and their questions.

Written in the workbench's question builder (or brought in from a bank file, or created by
an import for wording of its own), stored in the database, and joined to the packaged banks
in the one catalogue every part reads: the engine, review, exports, the dashboard, import.

- ``building``: ``catalogue(session, base)`` (the banks plus the service's questions as a
  session sees them) and ``Catalogues`` (a process's catalogue, checked by one stamp).
- ``editing``: create a priority or consultation; add, edit (a new version once asked),
  remove and reorder questions; every change checked whole, or ``QuestionInvalid``.
- ``files``: a priority's questions as a bank file (YAML) and back.

``base`` is always the packaged catalogue (``Runtime.banks``), never one with local
questions already in it.
"""

from surveys.services.questions.building import Built, Catalogues, built, catalogue
from surveys.services.questions.editing import (
    CONSULTATION,
    KINDS,
    PRIORITY,
    Draft,
    Freeze,
    QuestionInvalid,
    Saved,
    add_question,
    clean_spec,
    create_bank,
    draft,
    edit_question,
    freeze,
    live_question,
    local_bank,
    local_banks,
    move_question,
    open_rounds_asking,
    questions_under,
    remove_question,
    set_order,
    update_bank,
    versions_of,
)
from surveys.services.questions.files import MAX_FILE_BYTES, Imported, export_bank, import_bank

__all__ = [
    "CONSULTATION",
    "KINDS",
    "MAX_FILE_BYTES",
    "PRIORITY",
    "Built",
    "Catalogues",
    "Draft",
    "Freeze",
    "Imported",
    "QuestionInvalid",
    "Saved",
    "add_question",
    "built",
    "catalogue",
    "clean_spec",
    "create_bank",
    "draft",
    "edit_question",
    "export_bank",
    "freeze",
    "import_bank",
    "live_question",
    "local_bank",
    "local_banks",
    "move_question",
    "open_rounds_asking",
    "questions_under",
    "remove_question",
    "set_order",
    "update_bank",
    "versions_of",
]
