"""Backup and restore of a whole instance (``learnspace backup DIR``, ``learnspace restore DIR``); see operations.py."""
