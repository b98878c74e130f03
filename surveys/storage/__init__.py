"""Persistence: the typed models, the database engine and migrations, encryption at rest,
and the repository functions that read and write rows inside a caller's transaction.
"""
