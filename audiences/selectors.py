"""Reads about audiences: the list, metrics of the members, "why in / out", overlap."""

from datetime import timedelta

from django.db.models import Avg, CharField, Count, Q, Sum, Value
from django.db.models.functions import Cast, Substr, TruncMonth
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import Audience, AudienceMember
from audiences.services import members_of
from customers.filters import Channel, reachable
from customers.models import Customer, MarketingConsent
from customers.selectors import (
    criteria_in_words,
    customer_filterset,
    customers_matching,
    parameters_of,
)
from customers.services import consents_of
from ranks.models import Rank
from tags.models import CustomerTag, Tag
from tags.selectors import customer_tags

MONTHS = 12
TOP = 8


def audiences_for_list(*, query: str = "", sort: str = "name", archived: bool = False):
    audiences = Audience.objects.filter(archived=archived).select_related("owner")
    if query:
        audiences = audiences.filter(Q(name__icontains=query) | Q(description__icontains=query))
    return audiences.order_by(*SORTS.get(sort, SORTS["name"]))


SORTS = {
    "name": ["name_key"],
    "-size": ["-size", "name_key"],
    "-updated_at": ["-updated_at"],
    "kind": ["kind", "name_key"],
}


def rule_in_words(audience: Audience) -> list[tuple[str, str]] | None:
    """Each criterion of the rule as (label, value in words); None for a rule that is no
    longer valid (a rank, tag or audience it named is gone)."""
    if not audience.rule:
        return []
    filterset = customer_filterset(audience.rule)
    if not filterset.is_valid():
        return None
    words = [(label, shown) for _name, label, shown in criteria_in_words(filterset)]
    if filterset.form.cleaned_data.get("archived"):
        words.append((_("Archived"), _("yes")))
    return words


def metrics(audience: Audience) -> dict:
    """What the audience page shows about the members, in two scans of them: the figures
    (size, active share, spend, points, reachable per channel) and the breakdowns (per rank,
    joins per month, top cities, top tags) as one UNION ALL of group-bys."""
    members = members_of(audience).order_by()
    figures = members.aggregate(
        size=Count("pk"),
        active=Count("pk", filter=Q(status=Customer.Status.ACTIVE)),
        spend_total=Sum("total_spent"),
        spend_average=Avg("total_spent"),
        points_average=Avg("points_balance"),
        **{f"reach_{channel}": Count("pk", filter=reachable(channel)) for channel in Channel},
    )
    size = figures["size"]
    figures["active_share"] = round(100 * figures["active"] / size) if size else 0
    figures["reachable"] = [
        {
            "channel": label,
            "count": figures[f"reach_{channel}"],
            "share": round(100 * figures[f"reach_{channel}"] / size) if size else 0,
        }
        for channel, label in Channel.choices
    ]
    since = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _month in range(MONTHS - 1):
        since = (since - timedelta(days=1)).replace(day=1)

    def grouped(queryset, kind, key):
        return (
            queryset.order_by()
            .annotate(kind=Value(kind, output_field=CharField()), key=key)
            .values_list("kind", "key")
            .annotate(n=Count("pk"))
        )

    parts = (
        grouped(members, "rank", Cast("rank_id", CharField()))
        .union(
            grouped(
                members.filter(joined_at__gte=since),
                "month",
                Substr(Cast(TruncMonth("joined_at"), CharField()), 1, 7),
            ),
            grouped(members.exclude(city=""), "city", Cast("city", CharField())),
            grouped(
                CustomerTag.objects.filter(customer__in=members.values("pk")),
                "tag",
                Cast("tag_id", CharField()),
            ),
            all=True,
        )
        .order_by()
    )  # a union takes the model's default ordering again; there is none to take
    groups: dict[str, dict[str, int]] = {"rank": {}, "month": {}, "city": {}, "tag": {}}
    for kind, key, n in parts:
        groups[kind][key or ""] = n
    return {
        **figures,
        "rank_chart": _rank_chart(groups["rank"]),
        "month_chart": _month_chart(groups["month"], since),
        "cities": sorted(groups["city"].items(), key=lambda item: (-item[1], item[0]))[:TOP],
        "tags": _top_tags(groups["tag"]),
    }


def _rank_chart(per_rank: dict[str, int]) -> dict:
    ranks = list(Rank.objects.order_by("level"))
    labels = [rank.name for rank in ranks]
    values = [per_rank.get(str(rank.pk), 0) for rank in ranks]
    if per_rank.get(""):
        labels.append(_("No rank"))
        values.append(per_rank[""])
    return {"labels": labels, "values": values, "colours": [rank.colour for rank in ranks]}


def _month_chart(per_month: dict[str, int], since) -> dict:
    months, day = [], since.date()
    for _index in range(MONTHS):
        months.append(day.strftime("%Y-%m"))
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return {"labels": months, "values": [per_month.get(month, 0) for month in months]}


def _top_tags(per_tag: dict[str, int]) -> list[tuple[Tag, int]]:
    top = sorted(per_tag.items(), key=lambda item: -item[1])[:TOP]
    tags = Tag.objects.in_bulk([int(pk) for pk, _n in top if pk])
    return [(tags[int(pk)], n) for pk, n in top if pk and int(pk) in tags]


def overlap(first: Audience, second: Audience) -> list[dict]:
    """Members in both, only in the first, only in the second: counts and the list's address."""
    cases = [
        (_("In both"), f"audience={first.pk}&audience={second.pk}"),
        (
            _("Only in “%(name)s”") % {"name": first.name},
            f"audience={first.pk}&not_audience={second.pk}",
        ),
        (
            _("Only in “%(name)s”") % {"name": second.name},
            f"audience={second.pk}&not_audience={first.pk}",
        ),
    ]
    return [
        {"label": label, "query": query, "count": customers_matching(query).order_by().count()}
        for label, query in cases
    ]


# Why in / out --------------------------------------------------------------------------------


def explain(audience: Audience, customer: Customer) -> dict:
    """Whether the customer is in the audience and why: for a static audience their member
    row; for a dynamic one each criterion of the rule, passed or failed, with the customer's
    own value for it."""
    archived = customer.is_archived
    if audience.is_static:
        member = (
            AudienceMember.objects.filter(audience=audience, customer=customer)
            .select_related("added_by")
            .first()
        )
        return {"inside": member is not None and not archived, "member": member, "rows": []}
    filterset = customer_filterset(audience.rule)
    if not filterset.is_valid():
        return {"inside": False, "rows": [], "invalid": True}
    rule = QueryDict(audience.rule)
    rows = []
    for name, label, shown in criteria_in_words(filterset):
        alone = QueryDict(mutable=True)
        for parameter in parameters_of(filterset, name):
            if parameter in rule:
                alone.setlist(parameter, rule.getlist(parameter))
        if archived:  # the archive switch is its own row below
            alone["archived"] = "true"
        passes = customers_matching(alone.urlencode()).filter(pk=customer.pk).exists()
        if name in ("audience", "not_audience"):
            own = _memberships(filterset.form.cleaned_data[name], customer)
        else:
            own = own_value(name, customer)
        rows.append({"label": label, "wanted": shown, "own": own, "passes": passes})
    wants_archived = bool(filterset.form.cleaned_data.get("archived"))
    rows.append(
        {
            "label": _("Archived"),
            "wanted": _("yes") if wants_archived else _("no"),
            "own": _("yes") if archived else _("no"),
            "passes": archived == wants_archived,
        }
    )
    return {"inside": all(row["passes"] for row in rows), "rows": rows}


def _memberships(audiences, customer) -> str:
    """Which of these audiences the customer is in."""
    names = [
        audience.name
        for audience in audiences
        if customers_matching(audience.list_query).filter(pk=customer.pk).exists()
    ]
    return _("in %(names)s") % {"names": ", ".join(names)} if names else _("in none of them")


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d") if value else _("never")


def _consent(channel: str):
    def value(customer):
        consent = consents_of(customer).get(channel)
        if consent is None:
            return _("never asked")
        state = _("agreed") if consent.granted else _("withdrew")
        return f"{state} {_when(consent.changed_at)} ({consent.get_source_display()})"

    return value


def _reachable(customer) -> str:
    consents = consents_of(customer)
    channels = [
        label
        for channel, label in Channel.choices
        if (c := consents.get(channel)) is not None
        and c.granted
        and Customer.objects.filter(pk=customer.pk).filter(reachable(channel)).exists()
    ]
    return ", ".join(channels) or _("none")


# A criterion's value on the customer, as the "why" table shows it beside what the rule wants.
OWN_VALUES = {
    "q": lambda c: str(c),
    "name": lambda c: c.full_name,
    "email": lambda c: c.email or "",
    "phone": lambda c: c.phone or "",
    "old_member_id": lambda c: c.old_member_id or "",
    "city": lambda c: c.city,
    "status": lambda c: c.get_status_display(),
    "customer_type": lambda c: c.get_customer_type_display(),
    "store": lambda c: str(c.preferred_store or ""),
    "referral_source": lambda c: c.get_referral_source_display(),
    "rank": lambda c: str(c.rank or _("No rank")),
    "manual_rank": lambda c: _("yes") if c.rank_overridden else _("no"),
    "joined": lambda c: _when(c.joined_at),
    "last_access": lambda c: _when(c.last_access_at),
    "points": lambda c: f"{c.points_balance:,}",
    "spent": lambda c: f"{c.total_spent:,.0f}",
    "followed_oa": lambda c: _("yes") if c.followed_oa_at else _("no"),
    "app_used_days": lambda c: _("last used %(when)s") % {"when": _when(c.app_last_seen_at)},
    "purchased_days": lambda c: _("last order %(when)s") % {"when": _when(c.last_order_at)},
    "orders_min": lambda c: f"{c.order_count:,}",
    "tags_any": lambda c: ", ".join(link.tag.name for link in customer_tags(c)) or _("none"),
    "consent_email": _consent(MarketingConsent.Channel.EMAIL),
    "consent_sms": _consent(MarketingConsent.Channel.SMS),
    "consent_app": _consent(MarketingConsent.Channel.APP),
    "reachable": _reachable,
}
OWN_VALUES["tags_all"] = OWN_VALUES["tags_none"] = OWN_VALUES["tags_any"]


def own_value(name: str, customer: Customer) -> str:
    if name in OWN_VALUES:
        return str(OWN_VALUES[name](customer))
    if name.startswith("cf_"):
        return str((customer.custom_fields or {}).get(name[3:], ""))
    return "—"
