"""YJ Voice domain core: question banks, the conversation engine, storage, analysis, export.

Nothing here imports Flask or python-telegram-bot; ``web`` and ``bot`` are adapters over it.
"""
