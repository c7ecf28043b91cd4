import struct
import zlib
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from wholesale.models import WholesaleApplication

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG_BYTES = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 64
    + b"\xff\xd9"
)


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def pdf_upload(name="licence.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def valid_tax_id(n: int) -> str:
    """A tax ID with a correct check digit, distinct per n (skipping bases with none)."""
    from wholesale.tax_id import check_digit

    base = 100_000_000 + n
    while check_digit(f"{base:09d}") is None:
        base += 1_000_000
    return f"{base:09d}{check_digit(f'{base:09d}')}"


class WholesaleApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WholesaleApplication
        skip_postgeneration_save = True

    reference = factory.Sequence(lambda n: f"WSTEST{n:05d}")
    business_name = factory.Sequence(lambda n: f"Cửa hàng Số {n}")
    contact_name = "Trần Thị Mai"
    phone = factory.Sequence(lambda n: f"+8491{n:07d}")
    email = factory.Sequence(lambda n: f"shop{n}@example.com")
    tax_id = factory.Sequence(valid_tax_id)
    address = "12 Lê Lợi"
    city = "Huế"
    business_type = "shop"
    expected_monthly_value = Decimal(20_000_000)
    consent = True

    @factory.post_generation
    def searchable(obj, create, extracted, **kwargs):
        from wholesale.services import search_text_for

        obj.search_text = search_text_for(obj)
        if create:
            obj.save(update_fields=["search_text"])
