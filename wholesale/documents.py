"""Applicants' documents: the type is read from the file's content (PDF, JPEG or PNG), never
from its name; size and count are capped by settings."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Bytes read from each end of a file to recognise it.
_PROBE = 1024


@dataclass(frozen=True)
class DocumentType:
    content_type: str
    extension: str
    label: str


PDF = DocumentType("application/pdf", "pdf", "PDF")
JPEG = DocumentType("image/jpeg", "jpg", "JPEG")
PNG = DocumentType("image/png", "png", "PNG")


def _read_ends(upload) -> tuple[bytes, bytes]:
    upload.seek(0)
    head = upload.read(_PROBE)
    size = upload.size
    upload.seek(max(0, size - _PROBE))
    tail = upload.read(_PROBE)
    upload.seek(0)
    return head, tail


def sniff(head: bytes, tail: bytes) -> DocumentType | None:
    """The document type the bytes are, whole (a truncated file is none of them)."""
    if head.startswith(b"%PDF-") and b"%%EOF" in tail:
        return PDF
    if head.startswith(b"\xff\xd8\xff") and tail.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and b"IEND" in tail:
        return PNG
    return None


def check_upload(upload) -> DocumentType:
    """The upload's type, or ValidationError naming the file and what is wrong with it."""
    limit = settings.WHOLESALE_DOCUMENT_MAX_MB * 1024 * 1024
    name = upload.name
    if upload.size > limit:
        raise ValidationError(
            _("%(name)s is %(size).1f MB; a document may be at most %(limit)d MB."),
            code="too_large",
            params={
                "name": name,
                "size": upload.size / 1024 / 1024,
                "limit": settings.WHOLESALE_DOCUMENT_MAX_MB,
            },
        )
    if upload.size == 0:
        raise ValidationError(_("%(name)s is empty."), code="empty", params={"name": name})
    kind = sniff(*_read_ends(upload))
    if kind is None:
        raise ValidationError(
            _("%(name)s is not a PDF, JPEG or PNG file (its content was checked, not its name)."),
            code="type",
            params={"name": name},
        )
    return kind


def check_count(existing: int, adding: int) -> None:
    cap = settings.WHOLESALE_DOCUMENT_MAX_COUNT
    if existing + adding > cap:
        raise ValidationError(
            _("At most %(cap)d documents per application; this would make %(total)d."),
            code="too_many",
            params={"cap": cap, "total": existing + adding},
        )
