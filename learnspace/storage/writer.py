"""A write-only file object that streams into one object as an S3 multipart upload.

Whatever the object's size, memory holds one part (PART_BYTES) at a time: a
zip of a teacher's recordings is written straight into MinIO, never to a
temporary file or a bytes object. The object exists only once ``close()``
completes the upload; an error aborts it, so no half object is ever seen.
"""
from __future__ import annotations

from .backends import get_storage
from .multipart import MIN_PART_BYTES, PartInfo

#: bytes per part; above S3's 5 MiB minimum, and 10,000 parts allow objects up to about 78 GiB
PART_BYTES = 8 * 1024 * 1024


class ObjectWriter:
    """``write()`` bytes into *key*; ``close()`` stores the object, ``abort()`` drops it."""

    def __init__(self, key: str, content_type: str = "application/octet-stream", part_bytes: int = PART_BYTES):
        if part_bytes < MIN_PART_BYTES:
            raise ValueError("parts must be at least 5 MiB")
        self.key = key
        self._storage = get_storage()
        self._part_bytes = part_bytes
        self._upload_id = self._storage.create_multipart(key, content_type)
        self._buffer = bytearray()
        self._parts: list[PartInfo] = []
        self._written = 0
        self.closed = False

    # zipfile asks for these: tell() works, seek() does not, so it writes data descriptors
    def tell(self) -> int:
        return self._written

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        """Nothing to do: parts go out as they fill up."""

    def write(self, data) -> int:
        """Buffer *data*; send each part as soon as it is full (the buffer never grows past one part)."""
        if self.closed:
            raise ValueError("write to a closed ObjectWriter")
        view = memoryview(data).cast("B")
        while view:
            take = self._part_bytes - len(self._buffer)
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) == self._part_bytes:
                full, self._buffer = self._buffer, bytearray()
                self._send(full)
        self._written += len(data)
        return len(data)

    def _send(self, chunk: bytearray) -> None:
        number = len(self._parts) + 1
        etag = self._storage.upload_part(self.key, self._upload_id, number, chunk)
        self._parts.append(PartInfo(number, len(chunk), etag))

    def close(self) -> None:
        """Send the last part and complete the upload: the object appears now."""
        if self.closed:
            return
        try:
            if self._buffer or not self._parts:
                last, self._buffer = self._buffer, bytearray()
                self._send(last)
            self._storage.complete_multipart(self.key, self._upload_id, self._parts)
        except BaseException:
            self.abort()
            raise
        self.closed = True

    def abort(self) -> None:
        """Drop the upload and its parts (nothing was stored under *key*)."""
        self.closed = True
        self._buffer = bytearray()
        self._storage.abort_incomplete_upload(self.key, self._upload_id)

    @property
    def size(self) -> int:
        return self._written
