"""Activation and usage statistics for administrators (reads only; nothing imports this package)."""
