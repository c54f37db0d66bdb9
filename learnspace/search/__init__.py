"""Full-text search of lessons. Only this package imports ``whoosh``."""
