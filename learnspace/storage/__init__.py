"""Object storage for recordings and materials. Only this package imports ``minio``."""
from .backends import MemoryStorage, MinioStorage, get_storage, init_app
from .errors import StorageError
from .multipart import PartInfo, PartRefused, UploadNotFound
from .writer import ObjectWriter

__all__ = ["MemoryStorage", "MinioStorage", "ObjectWriter", "PartInfo", "PartRefused", "StorageError", "UploadNotFound",
           "get_storage", "init_app"]
