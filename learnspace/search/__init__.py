"""Full-text search of lessons. Only this package imports ``whoosh``; only whoosh_internals reads below its public API."""

from . import whoosh_internals

whoosh_internals.apply_fixes()
