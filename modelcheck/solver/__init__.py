"""The solver layer: the Z3 encoding and the search (check, diff, missed-optimization)."""
