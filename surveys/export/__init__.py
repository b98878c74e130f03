"""Publishing answers: CSV of every answer now; quote tables per priority later."""
