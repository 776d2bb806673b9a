"""Property and variant specifications (data files), shipped with modelcheck as ``modelcheck.properties``."""
