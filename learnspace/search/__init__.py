"""Full-text search of lessons. Only this package imports ``whoosh``."""

from . import whoosh_fixes

whoosh_fixes.apply()
