"""Vietnamese tax codes (mã số thuế): ten digits whose last is a check digit over the first
nine, optionally followed by "-" and a three-digit branch number (001–999)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
_SHAPE = re.compile(r"^(\d{10})(?:-(\d{3}))?$")


def check_digit(first_nine: str) -> int | None:
    """The tenth digit the first nine call for; None when no digit can satisfy them."""
    remainder = sum(w * int(d) for w, d in zip(_WEIGHTS, first_nine, strict=True)) % 11
    digit = 10 - remainder
    return digit if digit < 10 else None


def normalise_tax_id(raw: str) -> str:
    """`raw` as stored ("0314409058" or "0314409058-002"), or ValidationError saying why."""
    text = "".join((raw or "").split()).replace("–", "-")
    if len(text) == 13 and text.isdigit():
        text = f"{text[:10]}-{text[10:]}"
    match = _SHAPE.match(text)
    if not match:
        raise ValidationError(
            _(
                "A tax ID has 10 digits, or 10 digits, a dash and a 3-digit branch number "
                "(0314409058 or 0314409058-001)."
            ),
            code="shape",
        )
    main, branch = match.groups()
    if check_digit(main[:9]) != int(main[9]):
        raise ValidationError(
            _("%(value)s is not a valid tax ID: its check digit does not match."),
            code="check_digit",
            params={"value": main},
        )
    if branch == "000":
        raise ValidationError(_("A branch number runs from 001 to 999."), code="branch")
    return text


def is_valid_tax_id(raw: str) -> bool:
    try:
        normalise_tax_id(raw)
    except ValidationError:
        return False
    return True
