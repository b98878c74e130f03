"""Use cases, one module each: what the workbench, the command line and the channels do.

Each function takes a caller-owned session (the edge owns the transaction) and plain values,
and raises a domain error that the edge translates into a page, a message or an exit code.
"""
