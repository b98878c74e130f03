"""YJ Voice domain: the folders are the architecture.

- ``core``: question banks, the conversation engine, the vocabulary (pure).
- ``storage``: models, database, migrations, encryption at rest, repository functions.
- ``services``: use cases (rounds, review, import, withdrawal, safeguarding cases, ...).
- ``analysis``: text analysis (anonymise, sentiment, priorities, themes, disclosures), pure.
- ``export``: the plan's tables from plain data (Word, Excel, CSV, Markdown).
- ``notify``: outbound messages to staff (alerts).

Nothing here imports Flask or python-telegram-bot; ``web`` and ``bot`` are adapters over it.
"""
