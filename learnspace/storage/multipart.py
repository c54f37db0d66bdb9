"""S3 multipart uploads through the minio SDK's public API only: presigned requests, urllib3 and XML.

The SDK (7.2) has no public multipart calls, so each S3 request here is a URL
from the public ``Minio.get_presigned_url`` (query-string signature V4, unsigned
payload) sent with urllib3, and its XML answer parsed here:

    CreateMultipartUpload    POST   ?uploads
    UploadPart               PUT    ?partNumber=N&uploadId=ID      (tests and scripts; browsers use part_url)
    ListParts                GET    ?uploadId=ID[&part-number-marker=M]
    CompleteMultipartUpload  POST   ?uploadId=ID                   <CompleteMultipartUpload> body
    AbortMultipartUpload     DELETE ?uploadId=ID
    ListMultipartUploads     GET    ?uploads[&prefix=K&key-marker=…&upload-id-marker=…]

A part's x-amz-checksum-sha256, when known as its URL is made, is signed into the URL
(X-Amz-SignedHeaders=host;x-amz-checksum-sha256, see sign_headers): MinIO accepts that
header unsigned, but S3 itself and the Versity gateway refuse x-amz-* headers a presigned
URL does not sign ("There were headers present in the request which were not signed").

Errors: NoSuchUpload (aborted, completed or expired) raises UploadNotFound; a
part MinIO refuses (XAmzContentChecksumMismatch, InvalidPart, EntityTooSmall …) PartRefused; a
dead, refusing or misbehaving server StorageError.
"""
from __future__ import annotations

import hashlib
import hmac
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import SplitResult, parse_qsl, quote, urlsplit, urlunsplit
from xml.sax.saxutils import escape

import urllib3
from minio import Minio
from minio.credentials import Credentials
from minio.error import MinioException
from minio.helpers import queryencode
from minio.signer import presign_v4

from .errors import StorageError

#: MinIO's default region, given to the signing client so that presigning never asks the server
REGION = "us-east-1"
#: the life of the URLs this module signs for its own requests
OWN_URL_LIFE = timedelta(minutes=5)
#: S3 limits of one multipart upload
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10_000
_FAILURES = (MinioException, urllib3.exceptions.HTTPError, OSError)
#: a part whose bytes do not match its x-amz-checksum-sha256 is XAmzContentChecksumMismatch; BadDigest and
#: InvalidDigest are the answers to a Content-MD5, which other S3 clients may still send
_REFUSED_PARTS = ("XAmzContentChecksumMismatch", "BadDigest", "InvalidDigest", "InvalidPart", "InvalidPartOrder",
                  "EntityTooSmall", "EntityTooLarge", "InvalidArgument")
#: the codes of a part whose bytes do not match its checksum: MinIO's, and S3's (also the Versity gateway's)
CHECKSUM_MISMATCH = ("XAmzContentChecksumMismatch", "BadDigest")
#: the flexible-checksum header MinIO verifies a part against: base64 of the part's SHA-256
CHECKSUM_HEADER = "x-amz-checksum-sha256"


def _aws_quote(value: str) -> str:
    """URI-encode for a SigV4 canonical query: every byte but A-Z a-z 0-9 - _ . ~."""
    return quote(value, safe="-_.~")


def sign_headers(method: str, url: str, headers: dict[str, str], secret_key: str) -> str:
    """Re-sign a host-only presigned SigV4 *url* so that it also signs *headers* (names and values).

    The client must then send exactly these headers. The SDK's presigning signs the host
    only; the rest of the URL (credential scope, date, expiry) is kept as it signed it.
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "X-Amz-Signature"]
    lowered = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    names = sorted({"host", *lowered})
    query = [(k, ";".join(names) if k == "X-Amz-SignedHeaders" else v) for k, v in query]
    pairs = sorted((_aws_quote(k), _aws_quote(v)) for k, v in query)
    values = {**lowered, "host": parts.netloc}
    canonical = "\n".join([method, parts.path or "/", "&".join(f"{k}={v}" for k, v in pairs),
                           "".join(f"{name}:{values[name]}\n" for name in names), ";".join(names),
                           "UNSIGNED-PAYLOAD"])
    fields = dict(query)
    day, region, service, terminator = fields["X-Amz-Credential"].split("/")[-4:]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", fields["X-Amz-Date"], f"{day}/{region}/{service}/{terminator}",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    encoded = "&".join(f"{_aws_quote(k)}={_aws_quote(v)}" for k, v in query)
    return urlunsplit(parts._replace(query=f"{encoded}&X-Amz-Signature={signature}"))


class UploadNotFound(KeyError):
    """The multipart upload does not exist (any more): completed, aborted, or expired by the server."""


class PartRefused(ValueError):
    """The server refused a part or the part list (its S3 error code in ``code``)."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


@dataclass(frozen=True)
class PartInfo:
    """One part the server holds."""

    number: int
    size: int
    etag: str
    last_modified: datetime | None = None
    #: the base64 SHA-256 the server checked when the part came with x-amz-checksum-sha256, else None
    checksum_sha256: str | None = None


@dataclass(frozen=True)
class IncompleteUpload:
    """A multipart upload that was started and never completed or aborted (its parts use disk)."""

    key: str
    upload_id: str
    initiated_dt: datetime | None


def _text(element: ET.Element, name: str) -> str | None:
    """Find a direct child by local name, whatever XML namespace the server used."""
    for child in element:
        if child.tag.rsplit("}", 1)[-1] == name:
            return child.text
    return None


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if child.tag.rsplit("}", 1)[-1] == name]


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def error_code(body: bytes) -> tuple[str, str]:
    """Return (Code, Message) of an S3 error document, ("", "") when the body is none."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return "", ""
    if root.tag.rsplit("}", 1)[-1] != "Error":
        return "", ""
    return _text(root, "Code") or "", _text(root, "Message") or ""


class Multipart:
    """The S3 multipart requests of one bucket, signed by *signer* and sent through *http*."""

    def __init__(self, signer: Minio, http: urllib3.PoolManager, bucket: str, *, endpoint: str, secure: bool,
                 access_key: str, secret_key: str):
        self.signer, self.http, self.bucket = signer, http, bucket
        self._origin = ("https" if secure else "http", endpoint)
        self._credentials = Credentials(access_key, secret_key)

    def _url(self, method: str, key: str, query: dict[str, str], life: timedelta = OWN_URL_LIFE) -> str:
        if key:
            return self.signer.get_presigned_url(method, self.bucket, key, expires=life,
                                                 extra_query_params=dict(query))
        # get_presigned_url wants an object; a bucket-level request (ListMultipartUploads) is
        # signed with the SDK's public presign_v4 on the bucket's path instead.
        encoded = "&".join(f"{queryencode(k)}={queryencode(v)}" for k, v in sorted(query.items()))
        url = SplitResult(*self._origin, f"/{self.bucket}", encoded, "")
        return urlunsplit(presign_v4(method=method, url=url, region=REGION, credentials=self._credentials,
                                     date=datetime.now(timezone.utc), expires=int(life.total_seconds())))

    def _send(self, method: str, key: str, query: dict[str, str], body: bytes | None = None,
              headers: dict[str, str] | None = None, what: str = "", signed: dict[str, str] | None = None,
              ) -> urllib3.BaseHTTPResponse:
        try:
            url = self._url(method, key, query)
            if signed:  # headers the URL signs too, sent as they are
                url = sign_headers(method, url, signed, self._credentials.secret_key)
                headers = {**(headers or {}), **signed}
            response = self.http.request(method, url, body=body, headers=headers or {},
                                         retries=False if method in ("POST", "PUT") else None)
        except _FAILURES as exc:
            raise StorageError(f"{what or method} {key} failed: {type(exc).__name__}: {exc}") from exc
        if response.status >= 300:
            self._raise(response.status, response.data, key, what or method)
        return response

    @staticmethod
    def _raise(status: int, body: bytes, key: str, what: str):
        code, message = error_code(body)
        if code == "NoSuchUpload":
            raise UploadNotFound(key)
        if code in _REFUSED_PARTS:
            raise PartRefused(code, message)
        raise StorageError(f"{what} {key} failed: HTTP {status} {code} {message}".rstrip())

    def create(self, key: str, content_type: str = "application/octet-stream", checksums: bool = False) -> str:
        """Start a multipart upload of *key* and return its upload id.

        With *checksums* the upload is declared SHA-256 (x-amz-checksum-algorithm): S3 and the
        Versity gateway then keep each part's checksum and list it in ListParts, which they do
        not otherwise (MinIO lists it either way); every part must then come with one.
        """
        response = self._send("POST", key, {"uploads": ""}, headers={"Content-Type": content_type},
                              what="CreateMultipartUpload",
                              signed={"x-amz-checksum-algorithm": "SHA256"} if checksums else None)
        upload_id = _text(self._xml(response, key), "UploadId")
        if not upload_id:
            raise StorageError(f"CreateMultipartUpload {key}: no UploadId in the answer")
        return upload_id

    def part_url(self, key: str, upload_id: str, number: int, life: timedelta, signer: Minio | None = None,
                 sha256: str | None = None) -> str:
        """Return a presigned URL to PUT part *number* (1..10,000); *signer* signs for another endpoint.

        With *sha256* (base64) the URL signs x-amz-checksum-sha256 with that value, which S3
        servers other than MinIO require of a header sent to a presigned URL. *signer* must hold
        this bucket's keys (it differs only in the endpoint).
        """
        if not 1 <= number <= MAX_PARTS:
            raise ValueError(f"part number {number} outside 1..{MAX_PARTS}")
        url = (signer or self.signer).get_presigned_url(
            "PUT", self.bucket, key, expires=life,
            extra_query_params={"partNumber": str(number), "uploadId": upload_id})
        if sha256:
            url = sign_headers("PUT", url, {CHECKSUM_HEADER: sha256}, self._credentials.secret_key)
        return url

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes, sha256: str | None = None) -> str:
        """PUT one part (with its base64 SHA-256 in x-amz-checksum-sha256 when given); return the server's ETag."""
        response = self._send("PUT", key, {"partNumber": str(number), "uploadId": upload_id}, body=data,
                              headers={"Content-Length": str(len(data))}, what="UploadPart",
                              signed={CHECKSUM_HEADER: sha256} if sha256 else None)
        return (response.headers.get("ETag") or "").strip('"')

    def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        """Return every part the server holds for the upload, by number (all pages)."""
        parts: list[PartInfo] = []
        marker = "0"
        while True:
            query = {"uploadId": upload_id, "max-parts": "1000"}
            if marker != "0":
                query["part-number-marker"] = marker
            root = self._xml(self._send("GET", key, query, what="ListParts"), key)
            for part in _children(root, "Part"):
                parts.append(PartInfo(int(_text(part, "PartNumber") or 0), int(_text(part, "Size") or 0),
                                      (_text(part, "ETag") or "").strip('"'), _date(_text(part, "LastModified")),
                                      _text(part, "ChecksumSHA256") or None))
            next_marker = _text(root, "NextPartNumberMarker") or ""
            if (_text(root, "IsTruncated") or "").lower() != "true" or not next_marker or next_marker == marker:
                return sorted(parts, key=lambda p: p.number)
            marker = next_marker

    def complete(self, key: str, upload_id: str, parts: list[PartInfo]) -> str:
        """Join the parts, in number order, into the object *key*; return its ETag."""
        # A part's checksum goes with it: an upload declared SHA-256 must name them (S3, versitygw).
        body = "".join(f"<Part><PartNumber>{p.number}</PartNumber><ETag>\"{escape(p.etag)}\"</ETag>"
                       + (f"<ChecksumSHA256>{escape(p.checksum_sha256)}</ChecksumSHA256>" if p.checksum_sha256 else "")
                       + "</Part>" for p in sorted(parts, key=lambda p: p.number))
        data = f"<CompleteMultipartUpload>{body}</CompleteMultipartUpload>".encode()
        response = self._send("POST", key, {"uploadId": upload_id}, body=data,
                              headers={"Content-Type": "application/xml"}, what="CompleteMultipartUpload")
        # S3 may answer 200 and put the error in the body, after a long join.
        code, message = error_code(response.data)
        if code:
            self._raise(200, response.data, key, "CompleteMultipartUpload")
        return (_text(self._xml(response, key), "ETag") or "").strip('"')

    def abort(self, key: str, upload_id: str) -> None:
        """Abort the upload and free its parts; an upload already gone is fine."""
        try:
            self._send("DELETE", key, {"uploadId": upload_id}, what="AbortMultipartUpload")
        except UploadNotFound:
            pass

    def list_uploads(self, prefix: str = "") -> list[IncompleteUpload]:
        """Return the unfinished uploads the server lists for *prefix* (MinIO: an exact key, or "" for all)."""
        found: list[IncompleteUpload] = []
        key_marker = upload_marker = ""
        while True:
            query = {"uploads": "", "max-uploads": "1000"}
            if prefix:
                query["prefix"] = prefix
            if key_marker:
                query["key-marker"] = key_marker
            if upload_marker:
                query["upload-id-marker"] = upload_marker
            root = self._xml(self._send("GET", "", query, what="ListMultipartUploads"), prefix)
            for upload in _children(root, "Upload"):
                found.append(IncompleteUpload(_text(upload, "Key") or "", _text(upload, "UploadId") or "",
                                              _date(_text(upload, "Initiated"))))
            markers = (_text(root, "NextKeyMarker") or "", _text(root, "NextUploadIdMarker") or "")
            if (_text(root, "IsTruncated") or "").lower() != "true" or markers == (key_marker, upload_marker):
                return found
            key_marker, upload_marker = markers

    @staticmethod
    def _xml(response: urllib3.BaseHTTPResponse, key: str) -> ET.Element:
        try:
            return ET.fromstring(response.data)
        except ET.ParseError as exc:
            raise StorageError(f"unreadable answer about {key}: {exc}") from exc
