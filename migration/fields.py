"""What a file's columns can be mapped to, and how each cell becomes a customer value.

The rules are the customer form's (phones to E.164 through the same parser, emails validated and
lower-cased, choices as in the model) plus what legacy exports need: dates as people and old
systems write them, decimals with either separator, Vietnamese and English labels for choices.

Decisions, where the input is ambiguous:
- Dates are day-first (``03/04/2024`` is 3 April), as in Vietnam; a middle part above 12
  (``04/23/2024``) is read month-first. Two-digit years are 19xx above 30, else 20xx.
- A number with one separator followed by exactly three digits (``1.000``, ``1,000``) is a
  whole number with a thousands separator; otherwise the last separator is the decimal one.
- A "full name" column is split at the first space into last name (family name, written first
  in Vietnamese) and first name; the list shows "last first", so the name reads as written.
"""

import datetime
import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.custom_fields import to_json_value
from customers.models import Customer, CustomFieldDefinition, MarketingConsent
from customers.phone import parse_phone, search_forms_of
from customers.search_text import fold
from migration.profiles import PROFILES


class CellError(ValueError):
    """A cell that cannot become a value; the message is shown to the user."""


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    # Header spellings (folded: lower-case, accent-free) that suggest this field.
    synonyms: tuple[str, ...] = ()


TARGETS = (
    Target(
        "old_member_id",
        gettext_lazy("Old member ID"),
        (
            "old member id",
            "old id",
            "legacy id",
            "external id",
            "ma thanh vien cu",
            "ma khach hang cu",
            "ma kh cu",
            "ma cu",
        ),
    ),
    Target(
        "member_number",
        gettext_lazy("Member number"),
        ("member number", "member no", "card number", "ma thanh vien", "so the"),
    ),
    Target(
        "full_name",
        gettext_lazy("Full name (last name first)"),
        ("full name", "name", "customer name", "ho ten", "ho va ten", "ten khach hang"),
    ),
    Target("last_name", gettext_lazy("Last name"), ("last name", "surname", "family name", "ho")),
    Target("first_name", gettext_lazy("First name"), ("first name", "given name", "ten")),
    Target("email", gettext_lazy("Email"), ("email", "e-mail", "email address", "thu dien tu")),
    Target(
        "phone",
        gettext_lazy("Mobile number"),
        (
            "phone",
            "mobile",
            "mobile number",
            "phone number",
            "telephone",
            "so dien thoai",
            "dien thoai",
            "sdt",
            "di dong",
        ),
    ),
    Target(
        "date_of_birth",
        gettext_lazy("Date of birth"),
        ("date of birth", "birthday", "dob", "birth date", "ngay sinh"),
    ),
    Target("gender", gettext_lazy("Gender"), ("gender", "sex", "gioi tinh")),
    Target("address", gettext_lazy("Address"), ("address", "street", "dia chi")),
    Target(
        "city",
        gettext_lazy("City"),
        ("city", "town", "province", "thanh pho", "tinh thanh", "tinh"),
    ),
    Target("country", gettext_lazy("Country"), ("country", "quoc gia")),
    Target(
        "customer_type",
        gettext_lazy("Customer type"),
        ("customer type", "type", "loai khach hang", "loai khach"),
    ),
    Target("status", gettext_lazy("Status"), ("status", "trang thai")),
    Target(
        "rank", gettext_lazy("Rank (code or name)"), ("rank", "tier", "level", "hang", "hang the")
    ),
    Target(
        "preferred_store",
        gettext_lazy("Preferred store (code or name)"),
        ("store", "preferred store", "home store", "cua hang", "chi nhanh"),
    ),
    Target(
        "referral_source",
        gettext_lazy("Referral source"),
        ("referral source", "source", "channel", "nguon", "kenh"),
    ),
    Target(
        "joined_at",
        gettext_lazy("Joined at"),
        (
            "joined",
            "joined at",
            "join date",
            "registered",
            "created",
            "ngay tham gia",
            "ngay dang ky",
        ),
    ),
    Target(
        "referred_by",
        gettext_lazy("Referred by (member number)"),
        ("referred by", "referrer", "nguoi gioi thieu", "ma nguoi gioi thieu"),
    ),
    Target(
        "last_access_at",
        gettext_lazy("Last access"),
        ("last access", "last login", "last seen", "lan truy cap cuoi"),
    ),
    Target(
        "followed_oa_at",
        gettext_lazy("Followed the official account at"),
        ("followed official account", "followed oa", "oa followed", "quan tam oa", "theo doi oa"),
    ),
    Target(
        "app_last_seen_at",
        gettext_lazy("App last seen at"),
        ("app last seen", "last app use", "app last used", "lan dung app cuoi"),
    ),
    Target("tags", gettext_lazy("Tags (comma-separated)"), ("tags", "tag", "nhan", "the")),
    Target(
        "consent_email",
        gettext_lazy("Agrees to marketing by email (yes / no)"),
        ("email consent", "email opt in", "marketing email", "dong y email"),
    ),
    Target(
        "consent_sms",
        gettext_lazy("Agrees to marketing by SMS (yes / no)"),
        ("sms consent", "sms opt in", "marketing sms", "dong y sms"),
    ),
    Target(
        "consent_app",
        gettext_lazy("Agrees to marketing in the app / Zalo (yes / no)"),
        ("app consent", "zalo consent", "zalo opt in", "dong y zalo"),
    ),
    Target(
        "points_balance",
        gettext_lazy("Points balance"),
        ("points", "points balance", "point", "balance", "diem", "so diem", "diem tich luy"),
    ),
)
TARGETS_BY_NAME = {target.name: target for target in TARGETS}
CUSTOM_PREFIX = "cf:"

GENDERS = {
    "f": "female",
    "female": "female",
    "nu": "female",
    "woman": "female",
    "m": "male",
    "male": "male",
    "nam": "male",
    "man": "male",
    "other": "other",
    "khac": "other",
    "undisclosed": "undisclosed",
}
STATUSES = {
    "active": "active",
    "hoat dong": "active",
    "dang hoat dong": "active",
    "inactive": "inactive",
    "ngung hoat dong": "inactive",
    "khong hoat dong": "inactive",
    "blocked": "blocked",
    "khoa": "blocked",
    "bi khoa": "blocked",
}
CUSTOMER_TYPES = {
    "retail": "retail",
    "le": "retail",
    "ban le": "retail",
    "khach le": "retail",
    "wholesale": "wholesale",
    "si": "wholesale",
    "ban si": "wholesale",
    "ban buon": "wholesale",
    "khach si": "wholesale",
}
COUNTRIES = {"vietnam": "VN", "viet nam": "VN", "united states": "US", "usa": "US"}
BOOLEANS = {
    "1": True,
    "yes": True,
    "y": True,
    "true": True,
    "x": True,
    "co": True,
    "0": False,
    "no": False,
    "n": False,
    "false": False,
    "khong": False,
}


def choice_map(choices, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Folded value and label → stored value, plus the given extra spellings."""
    mapping = dict(extra or {})
    for value, label in choices:
        mapping[fold(str(value))] = value
        mapping[fold(str(label))] = value
    return mapping


def target_choices(definitions) -> list[tuple[str, str]]:
    return [(target.name, str(target.label)) for target in TARGETS] + [
        (f"{CUSTOM_PREFIX}{definition.key}", f"{definition.label} ({_('custom field')})")
        for definition in definitions
    ]


def header_key(header) -> str:
    """A header as compared: folded, punctuation as spaces ("E-mail" → "e mail")."""
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", fold(str(header or ""))).split())


def built_in_profile(headers: list[str]):
    """The built-in profile whose signature the headers hold (the one mapping most of them)."""
    present = {header_key(header) for header in headers}
    fitting = [
        profile
        for profile in PROFILES
        if all(header_key(header) in present for header in profile.signature)
    ]
    return max(
        fitting,
        key=lambda profile: sum(header_key(header) in present for header in profile.columns),
        default=None,
    )


def suggest(headers: list[str], definitions) -> tuple[dict[str, str], str]:
    """({column position: field}, the built-in profile's name or "") guessed from the headers;
    each field at most once. A built-in profile maps first, synonyms fill in the rest."""
    lookup: dict[str, str] = {}
    for target in TARGETS:
        lookup[header_key(target.label)] = target.name
        lookup[header_key(target.name.replace("_", " "))] = target.name
        for synonym in target.synonyms:
            lookup[header_key(synonym)] = target.name
    for definition in definitions:
        name = f"{CUSTOM_PREFIX}{definition.key}"
        lookup[header_key(definition.label)] = name
        lookup[header_key(definition.key.replace("_", " "))] = name
    profile = built_in_profile(headers)
    by_profile = (
        {header_key(header): field for header, field in profile.columns.items()}
        if profile is not None
        else {}
    )
    suggested, used = {}, set()
    keys = [header_key(header) for header in headers]
    for source in ([by_profile] if by_profile else []) + [lookup]:
        for position, key in enumerate(keys):
            field = source.get(key)
            if field and field not in used and str(position) not in suggested:
                suggested[str(position)] = field
                used.add(field)
    return suggested, str(profile.name) if profile is not None else ""


# --- cell parsers -----------------------------------------------------------------------------

_DATE_PARTS = re.compile(
    r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?$"
)
EXCEL_EPOCH = datetime.date(1899, 12, 30)


def text(value) -> str:
    """A cell as trimmed text; whole numbers read from a workbook lose their `.0`."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_datetime(value, *, with_time: bool) -> datetime.datetime | datetime.date:
    """A date or datetime from a workbook cell, an ISO string, a legacy format or an Excel
    serial number."""
    if isinstance(value, datetime.datetime):
        result = value
    elif isinstance(value, datetime.date):
        result = datetime.datetime.combine(value, datetime.time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 2958466:
            raise CellError(_("“%(value)s” is not a date.") % {"value": value})
        result = datetime.datetime.combine(EXCEL_EPOCH, datetime.time()) + datetime.timedelta(
            days=float(value)
        )
    else:
        result = _parse_date_text(text(value))
    if not with_time:
        return result.date()
    if timezone.is_naive(result):
        result = timezone.make_aware(result)
    return result


def _parse_date_text(raw: str) -> datetime.datetime:
    match = _DATE_PARTS.match(raw)
    if not match:
        try:
            return datetime.datetime.fromisoformat(raw)
        except ValueError:
            raise CellError(_("“%(value)s” is not a date.") % {"value": raw}) from None
    first, second, third, hour, minute, sec = match.groups()
    if len(first) == 4:
        year, month, day = int(first), int(second), int(third)
    else:
        day, month, year = int(first), int(second), int(third)
        if month > 12 and day <= 12:
            day, month = month, day
        if len(third) == 2:
            year += 1900 if year > 30 else 2000
    try:
        return datetime.datetime(year, month, day, int(hour or 0), int(minute or 0), int(sec or 0))
    except ValueError:
        raise CellError(_("“%(value)s” is not a valid date.") % {"value": raw}) from None


def parse_decimal(value) -> Decimal:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    raw = text(value)
    cleaned = re.sub(r"[\s\u00a0₫$€]|vnd|đ", "", raw.lower())
    if "." in cleaned and "," in cleaned:
        decimal_mark = "." if cleaned.rfind(".") > cleaned.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        cleaned = cleaned.replace(thousands, "").replace(decimal_mark, ".")
    elif "," in cleaned or "." in cleaned:
        mark = "," if "," in cleaned else "."
        head, _sep, tail = cleaned.rpartition(mark)
        if cleaned.count(mark) > 1 or len(tail) == 3:
            cleaned = cleaned.replace(mark, "")
        else:
            cleaned = f"{head.replace(mark, '')}.{tail}"
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise CellError(_("“%(value)s” is not a number.") % {"value": raw}) from None
    if not number.is_finite():
        raise CellError(_("“%(value)s” is not a number.") % {"value": raw})
    return number


def parse_choice(value, mapping: dict[str, str], field) -> str:
    raw = text(value)
    try:
        return mapping[fold(raw)]
    except KeyError:
        raise CellError(
            _("“%(value)s” is not a known %(what)s.") % {"value": raw, "what": field.verbose_name}
        ) from None


@dataclass
class Phone:
    e164: str
    forms: list[str]


_PHONE_NOISE = re.compile(r"[\s.\-()/]")
_VN_MOBILE = re.compile(r"^(?:\+84|84|0)?(\d{9})$")


@functools.cache
def _vn_mobile_prefixes() -> frozenset[str]:
    """Three-digit starts of Vietnamese mobile numbers that phonenumbers accepts whatever the
    remaining digits: for those, parsing by hand gives exactly what it would, far faster."""
    prefixes = set()
    for start in range(100, 1000):
        candidates = (f"+84{start}{rest}" for rest in ("000000", "999999", "123456", "505050"))
        if all(
            phonenumbers.is_valid_number(phonenumbers.parse(number, None)) for number in candidates
        ):
            prefixes.add(str(start))
    return frozenset(prefixes)


def parse_phone_cell(value) -> Phone:
    raw = text(value)
    if settings.PHONE_DEFAULT_REGION == "VN":
        match = _VN_MOBILE.match(_PHONE_NOISE.sub("", raw))
        if match and match.group(1)[:3] in _vn_mobile_prefixes():
            national = match.group(1)
            return Phone(f"+84{national}", [f"84{national}", f"0{national}"])
    try:
        number = parse_phone(raw)
    except ValidationError as error:
        raise CellError(error.messages[0]) from None
    return Phone(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        search_forms_of(number),
    )


def parse_email(value) -> str:
    email = text(value).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise CellError(
            _("“%(value)s” is not an email address.") % {"value": text(value)}
        ) from None
    if len(email) > 254:
        raise CellError(_("The email address is longer than 254 characters."))
    return email


def limited(value, length: int) -> str:
    result = text(value)
    if len(result) > length:
        raise CellError(
            _("“%(value)s…” is longer than %(length)s characters.")
            % {"value": result[:20], "length": length}
        )
    return result


# Import targets that are a channel's marketing consent.
CONSENT_TARGETS = {
    "consent_email": MarketingConsent.Channel.EMAIL,
    "consent_sms": MarketingConsent.Channel.SMS,
    "consent_app": MarketingConsent.Channel.APP,
}


def parse_yes_no(value) -> bool:
    if isinstance(value, bool):
        return value
    try:
        return BOOLEANS[fold(text(value))]
    except KeyError:
        raise CellError(_("“%(value)s” is not yes or no.") % {"value": text(value)}) from None


def parse_custom(definition: CustomFieldDefinition, value):
    kinds = CustomFieldDefinition.FieldType
    if definition.field_type == kinds.NUMBER:
        return to_json_value(parse_decimal(value))
    if definition.field_type == kinds.DATE:
        return parse_datetime(value, with_time=False).isoformat()
    if definition.field_type == kinds.BOOLEAN:
        return parse_yes_no(value)
    if definition.field_type == kinds.CHOICE:
        options = {fold(choice): choice for choice in definition.choices}
        try:
            return options[fold(text(value))]
        except KeyError:
            raise CellError(
                _("“%(value)s” is not one of %(choices)s.")
                % {"value": text(value), "choices": ", ".join(definition.choices)}
            ) from None
    return limited(value, 255)


MODEL_CHOICES = {
    "gender": choice_map(Customer.Gender.choices, GENDERS),
    "status": choice_map(Customer.Status.choices, STATUSES),
    "customer_type": choice_map(Customer.CustomerType.choices, CUSTOMER_TYPES),
    "referral_source": choice_map(Customer.ReferralSource.choices),
}
