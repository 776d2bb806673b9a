"""Kernel C as input: kernel files and trees, the C front-end, the per-condition review, SARIF."""
