"""The list cases the benchmark measures: our query string and the stock admin's equivalent.

Values come from the seeded data (a sample customer, a rank, a tag), so every case finds rows
at any size. A case the stock admin cannot express (no filter for it) has no peer query; the
report says so rather than comparing different work.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from console.tables import DEFAULT_ORDERING
from core.pagination import cursor_at
from customers.models import Customer, Reward
from ranks.models import Rank
from tags.models import Tag


@dataclass(frozen=True)
class ListCase:
    key: str
    title: str
    ours: str  # query string of our list
    peer: str | None  # query string of the admin changelist, None when it cannot do this
    search: bool = False  # a search case: the target ratio is 10x, not 4x


def _sample_customer(size: int) -> Customer:
    """A customer a third of the way into the table, with email, phone and old member ID."""
    return (
        Customer.objects.filter(
            pk__gte=max(1, size // 3),
            email__isnull=False,
            phone__isnull=False,
            old_member_id__isnull=False,
        )
        .order_by("pk")
        .first()
    )


def list_cases(size: int, per_page: int = 50) -> list[ListCase]:
    sample = _sample_customer(size)
    national = "0" + sample.phone.removeprefix("+84")
    phone_other_format = f"{national[:4]} {national[4:7]} {national[7:9]}"  # "0912 345 67"
    email_fragment = sample.email.split("@")[0][:-1]
    gold = Rank.objects.get(code="gold")
    tag = Tag.objects.order_by("pk")[20]
    reward = Reward.objects.order_by("pk").first()
    deep_page = max(1, min(5000, size // per_page // 2))
    q = lambda **params: urlencode(params)  # noqa: E731

    return [
        ListCase("no_filter", "No filter (first page)", "", ""),
        ListCase("name", "Quick search: name fragment", q(q="Thảo"), q(q="Thảo"), True),
        ListCase(
            "name_two_words",
            "Quick search: family and given name",
            q(q="Trần Thảo"),
            q(q="Trần Thảo"),
            True,
        ),
        ListCase(
            "name_accentless",
            "Quick search: name without accents",
            q(q="tran thao"),
            q(q="tran thao"),
            True,
        ),
        ListCase(
            "phone",
            "Quick search: phone fragment in another format",
            q(q=phone_other_format),
            q(q=phone_other_format),
            True,
        ),
        ListCase(
            "email", "Quick search: email fragment", q(q=email_fragment), q(q=email_fragment), True
        ),
        ListCase(
            "old_member_id",
            "Old member ID",
            q(old_member_id=sample.old_member_id.lower()),
            q(q=sample.old_member_id),
            True,
        ),
        ListCase(
            "rank_city",
            "Rank + city",
            q(rank=gold.pk, city="Đà Nẵng"),
            q(rank__id__exact=gold.pk, city="Đà Nẵng"),
        ),
        ListCase(
            "joined_range",
            "Joined-date range (one quarter)",
            q(joined_after="2025-01-01", joined_before="2025-03-31"),
            None,
        ),
        ListCase("tags_any", f"Tags any ({tag.name})", q(tags_any=tag.pk), None),
        ListCase(
            "reward",
            f"Reward purchases ({reward.name}, since 2025)",
            q(reward=reward.pk, reward_from="2025-01-01"),
            None,
        ),
        ListCase("points_range", "Points 500–800", q(points_min=500, points_max=800), None),
        ListCase(
            "custom_field",
            "Custom field (favourite category)",
            q(cf_favourite_category="Beauty"),
            None,
        ),
        ListCase("status", "Status blocked", q(status="blocked"), q(status__exact="blocked")),
        ListCase(
            "deep_page",
            f"Deep page ({deep_page:,}; ours by cursor, the admin by OFFSET)",
            q(
                after=cursor_at(
                    Customer.objects.live(), DEFAULT_ORDERING, (deep_page - 1) * per_page
                )
            ),
            q(p=deep_page),
        ),
        ListCase("sort_spend", "Sorted by spend, highest first", q(sort="-total_spent"), "o=-10"),
    ]
