"""Console entry point: ``yjvoice``."""
