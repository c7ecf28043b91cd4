"""Phone numbers: parse what people type into E.164, and the digit forms search matches on."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def normalise_phone(raw: str, region: str | None = None) -> str:
    """Return `raw` in E.164 (`+84912345678`), or raise ValidationError if it is not a number."""
    return phonenumbers.format_number(parse_phone(raw, region), phonenumbers.PhoneNumberFormat.E164)


def parse_phone(raw: str, region: str | None = None) -> phonenumbers.PhoneNumber:
    """The valid number `raw` denotes, or ValidationError."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a mobile number."), code="required")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), code="invalid", params={"value": raw}
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number."), code="invalid", params={"value": raw}
        )
    return number


def phone_search_forms(e164: str) -> list[str]:
    """Digit strings a stored number should be found by: international and national forms."""
    if not e164:
        return []
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return [e164.lstrip("+")]
    return search_forms_of(number)


def search_forms_of(number: phonenumbers.PhoneNumber) -> list[str]:
    """`phone_search_forms` of a parsed number, without parsing it again."""
    forms = [phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")]
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    national_digits = "".join(ch for ch in national if ch.isdigit())
    if national_digits and national_digits not in forms:
        forms.append(national_digits)
    return forms


def format_phone(e164: str) -> str:
    """Human-friendly international format for display."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
