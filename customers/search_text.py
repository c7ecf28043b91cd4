"""The normalised search column: one text per customer that every text criterion queries.

Layout: ``|e <email>|p <phone forms>|i <member number> <old member id>|n <name>|``.
Values are lower-cased and stripped of accents (``Nguyễn Đức`` → ``nguyen duc``), and the ``|``
character is removed from them, so each marker appears exactly once. A quick search looks for a
fragment anywhere (``%frag%``); a single-field criterion such as "email" anchors the fragment
between its own marker and the next (``%|e %frag%|p %``). One column with one trigram index on
PostgreSQL serves them all, which keeps inserts cheap compared with an index per field.
"""

import functools
import re
import unicodedata

from customers.phone import phone_search_forms

SEGMENTS = ("e", "p", "i", "n")
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{3,}$")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced, with the segment separator removed.

    Runs for every name, email and identifier written (imports: per row), so plain ASCII
    skips the Unicode work and other text is folded word by word through a cache — names
    repeat endlessly ("Nguyễn", "Thị"). Both give exactly what `_fold_text` gives.
    """
    if not text:
        return ""
    if text.isascii():
        return _SPACES.sub(" ", text.lower().replace("|", " ")).strip()
    return " ".join(filter(None, map(_fold_word, text.split())))


@functools.lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """Two names (of tags, of audiences) are one name when their keys are equal: case, accents
    and spacing aside ("Khách" and "khach"). Every writer compares by it."""
    return fold(" ".join((name or "").split()))


def _fold_word(word: str) -> str:
    return _fold_text(word)


def _fold_text(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.lower().replace("|", " ")).strip()


def build_search_text(
    *,
    email: str | None,
    phone: str | None,
    member_number: str,
    old_member_id: str | None,
    first_name: str,
    last_name: str,
    phone_forms: list[str] | None = None,
) -> str:
    """The search text of one customer; `phone_forms` skips parsing when the caller has them."""
    if phone_forms is None:
        phone_forms = phone_search_forms(phone or "")
    values = {
        "e": fold(email or ""),
        "p": " ".join(phone_forms),
        "i": fold(f"{member_number or ''} {old_member_id or ''}"),
        # Both orders, so "van an" and "an nguyen" both match.
        "n": fold(f"{last_name} {first_name} {first_name} {last_name}".strip()),
    }
    return "".join(f"|{key} {values[key]}" for key in SEGMENTS) + "|"


def is_phone_like(query: str) -> bool:
    return bool(_PHONE_LIKE.match(query.strip())) and sum(ch.isdigit() for ch in query) >= 3


def search_terms(query: str) -> list[str]:
    """Split a quick-search query into folded fragments that must all match.

    A phone-looking query (``0912 345 678``, ``+84-912``) becomes one digit string, so the
    separators people type never matter.
    """
    if is_phone_like(query):
        return ["".join(ch for ch in query if ch.isdigit())]
    return [term for term in fold(query).split(" ") if term]


def like_escape(fragment: str) -> str:
    return fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def anywhere_pattern(fragment: str) -> str:
    return f"%{like_escape(fragment)}%"


def segment_pattern(segment: str, fragment: str) -> str:
    """A LIKE pattern matching `fragment` only inside one segment.

    Each marker occurs once and in a fixed order, so "after this segment's marker and before
    the next one's" pins the fragment to the segment.
    """
    position = SEGMENTS.index(segment)
    after = SEGMENTS[position + 1] if position + 1 < len(SEGMENTS) else None
    end = f"%|{after} %" if after else "%|"
    return f"%|{segment} %{like_escape(fragment)}{end}"
