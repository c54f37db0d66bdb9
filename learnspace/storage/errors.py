"""The exception every storage caller catches."""
from __future__ import annotations


class StorageError(RuntimeError):
    """Object storage failed or is unreachable."""
