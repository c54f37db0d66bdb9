"""Object storage for recordings and materials. Only this package imports ``minio``."""
from .backends import MemoryStorage, MinioStorage, StorageError, get_storage, init_app

__all__ = ["MemoryStorage", "MinioStorage", "StorageError", "get_storage", "init_app"]
