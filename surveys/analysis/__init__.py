"""Text analysis of answers: anonymise, sentiment, priority mapping, themes, safeguarding.

Pure functions over text; no database, web or Telegram imports.
"""
