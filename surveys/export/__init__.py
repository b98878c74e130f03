"""Publishing answers: the plan's tables (Word, Excel, CSV, Markdown) and every answer as CSV.

Plain data in: nothing here reads the database (``surveys.storage.queries`` does, for
``surveys.services.exporting``).
"""
