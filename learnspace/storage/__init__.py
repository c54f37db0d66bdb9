"""Object storage for recordings and materials. Only this package imports ``minio``."""
from .backends import MemoryStorage, MinioStorage, get_storage, init_app
from .errors import StorageError
from .multipart import PartInfo, PartRefused, UploadNotFound

__all__ = ["MemoryStorage", "MinioStorage", "PartInfo", "PartRefused", "StorageError", "UploadNotFound",
           "get_storage", "init_app"]
