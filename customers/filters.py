"""CustomerFilterSet: the single definition of "which customers" (DESIGN.md §4).

The customer list, exports, bulk actions, audiences and automatic tags all turn a query string
into customers through `CustomerFilterSet`. The member's own criteria are declared here; every
other app contributes its criteria with `add_criteria` from its AppConfig.ready (ranks: rank,
manual rank, rank preview; tags: any / all / none), so this module imports no app above it.
Each criterion is backed by an index: text criteria go through the normalised search column
(customers.search_text), relations are EXISTS sub-queries, so no criterion needs DISTINCT.
Over 500 lines because the language's own criteria, its registry and the custom-field
criteria share one module: each depends on the filter set's base classes here.
"""

from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache, reduce
from operator import or_

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.dates import day_end, day_start
from core.forms import FilterForm, RemoteSelectMultiple, is_id
from customers.models import (
    Customer,
    CustomFieldDefinition,
    MarketingConsent,
    Reward,
    RewardRedemption,
    Store,
)
from customers.search_text import anywhere_pattern, fold, search_terms, segment_pattern

ANY_REWARD = "any"


def has_value(value) -> bool:
    """Whether a cleaned filter value narrows anything (an empty range or selection does not)."""
    if value is None or value == "":
        return False
    if isinstance(value, slice):
        return value.start is not None or value.stop is not None
    if isinstance(value, QuerySet):  # an empty model selection is none(): asked, not run
        return not value.query.is_empty()
    if isinstance(value, list | tuple):
        return len(value) > 0
    return True


def distinct_cities() -> list[str]:
    """Every city a customer has, read from the city index: on PostgreSQL one probe per city
    (a skip scan by recursive query) instead of reading every customer's row."""
    if connection.vendor != "postgresql":
        return list(
            Customer.objects.exclude(city="").order_by().values_list("city", flat=True).distinct()
        )
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH RECURSIVE cities(city) AS (
                    (SELECT city FROM {table} WHERE city > '' ORDER BY city LIMIT 1)
                    UNION ALL
                    SELECT (SELECT c.city FROM {table} c WHERE c.city > cities.city
                            ORDER BY c.city LIMIT 1)
                    FROM cities WHERE cities.city IS NOT NULL)
                SELECT city FROM cities WHERE city IS NOT NULL"""  # noqa: S608
        )
        return [city for (city,) in cursor.fetchall()]


Channel = MarketingConsent.Channel

# What a channel needs besides consent to reach someone: an address on it. For the app / Zalo
# that is having used the app or followed the official account.
CONTACT_ON = {
    Channel.EMAIL: Q(email__isnull=False),
    Channel.SMS: Q(phone__isnull=False),
    Channel.APP: Q(app_last_seen_at__isnull=False) | Q(followed_oa_at__isnull=False),
}


def consented(channel: str) -> Exists:
    """The customer agreed to marketing on this channel (and has not withdrawn)."""
    return Exists(
        MarketingConsent.objects.filter(customer=OuterRef("pk"), channel=channel, granted=True)
    )


def reachable(channel: str) -> Q:
    """Marketing on this channel may reach the customer: consent and an address on it."""
    return Q(consented(channel)) & CONTACT_ON[channel]


def _consent_filter(channel: str, label):
    def method(queryset, name, value):
        return queryset.filter(consented(channel) if value else ~consented(channel))

    return filters.BooleanFilter(
        label=label,
        method=method,
        widget=forms.Select(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))]),
    )


def _reachable_on(queryset, name, value):
    for channel in value:
        queryset = queryset.filter(reachable(channel))
    return queryset


class DateInput(forms.DateInput):
    input_type = "date"


def _date_range(field_name, label):
    return filters.DateFromToRangeFilter(
        field_name=field_name,
        label=label,
        widget=filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )


def every(model):
    """All rows of `model`, read when a filter set is made (django-filter's callable queryset),
    so a criterion's choices are never a queryset evaluated at import time."""
    return lambda request: model.objects.all()


# Bounds of numeric criteria: beyond them a value is a typing error, not a wish, and would
# overflow a date or a database integer.
MAX_DAYS = 36_500
MAX_COUNT = 1_000_000_000
MAX_AMOUNT = 10**15


class ChoicesField(filters.fields.ModelMultipleChoiceField):
    """Model choices whose values must be ids the database can hold."""

    def clean(self, value):
        for pk in value or ():
            if pk not in ("", None) and not is_id(pk):
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super().clean(value)


class ModelChoicesFilter(filters.ModelMultipleChoiceFilter):
    field_class = ChoicesField


class BoundedRangeField(filters.fields.RangeField):
    def __init__(self, *args, **kwargs):
        bounds = {"min_value": -MAX_AMOUNT, "max_value": MAX_AMOUNT}
        super().__init__(
            (forms.DecimalField(**bounds), forms.DecimalField(**bounds)), *args, **kwargs
        )


class BoundedRangeFilter(filters.RangeFilter):
    field_class = BoundedRangeField


def _number_range(field_name, label):
    return BoundedRangeFilter(field_name=field_name, label=label)


class CustomerFilterSet(filters.FilterSet):
    q = filters.CharFilter(
        label=_("Search"),
        method="filter_quick_search",
        help_text=_("Name, email, phone, member number or old member ID"),
        widget=forms.TextInput(attrs={"type": "search", "autofocus": True}),
    )
    email = filters.CharFilter(label=_("Email"), method="filter_email")
    name = filters.CharFilter(label=_("Name"), method="filter_name")
    phone = filters.CharFilter(label=_("Mobile number"), method="filter_phone")
    old_member_id = filters.CharFilter(label=_("Old member ID"), method="filter_old_member_id")
    joined = _date_range("joined_at", _("Joined"))
    # distinct=False throughout: no filter joins a many-valued relation (tags and rewards are
    # EXISTS subqueries), and a DISTINCT over whole rows is a sort of every match.
    store = ModelChoicesFilter(
        label=_("Preferred store"),
        queryset=every(Store),
        field_name="preferred_store",
        distinct=False,
        widget=RemoteSelectMultiple(reverse_lazy("customers:options", args=["stores"])),
    )
    city = filters.CharFilter(label=_("City"), method="filter_city")
    status = filters.MultipleChoiceFilter(
        label=_("Status"), choices=Customer.Status.choices, distinct=False
    )
    customer_type = filters.ChoiceFilter(label=_("Type"), choices=Customer.CustomerType.choices)
    referral_source = filters.MultipleChoiceFilter(
        label=_("Referral source"), choices=Customer.ReferralSource.choices, distinct=False
    )
    points = _number_range("points_balance", _("Points balance"))
    spent = _number_range("total_spent", _("Total spent"))
    last_access = _date_range("last_access_at", _("Last access"))
    # Behaviour (the built-in automatic-tag rules use these).
    followed_oa = filters.BooleanFilter(
        label=_("Follows the official account"),
        method="filter_followed_oa",
        # An empty choice, not "unknown": an unused criterion stays out of the address.
        widget=forms.Select(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))]),
    )
    app_used_days = filters.NumberFilter(
        label=_("Used the app in the last … days"),
        method="filter_app_used_days",
        min_value=1,
        max_value=MAX_DAYS,
    )
    purchased_days = filters.NumberFilter(
        label=_("Purchased in the last … days"),
        method="filter_purchased_days",
        min_value=1,
        max_value=MAX_DAYS,
    )
    orders_min = filters.NumberFilter(
        label=_("Purchased at least … times"),
        field_name="order_count",
        lookup_expr="gte",
        min_value=1,
        max_value=MAX_COUNT,
    )
    reward = filters.ChoiceFilter(label=_("Redeemed reward"), method="filter_noop")
    reward_from = filters.DateFilter(
        label=_("Redeemed from"), method="filter_noop", widget=DateInput
    )
    reward_to = filters.DateFilter(
        label=_("Redeemed until"), method="filter_noop", widget=DateInput
    )
    reward_min = filters.NumberFilter(
        label=_("Redeemed at least (times)"),
        method="filter_noop",
        min_value=1,
        max_value=MAX_COUNT,
    )
    consent_email = _consent_filter(Channel.EMAIL, _("Agreed to marketing by email"))
    consent_sms = _consent_filter(Channel.SMS, _("Agreed to marketing by SMS"))
    consent_app = _consent_filter(Channel.APP, _("Agreed to marketing in the app / Zalo"))
    reachable = filters.MultipleChoiceFilter(
        label=_("Reachable by"),
        help_text=_("Agreed to marketing on the channel and has an address on it (all ticked)."),
        choices=Channel.choices,
        method=_reachable_on,
        distinct=False,
    )
    archived = filters.BooleanFilter(label=_("Archived"), method="filter_noop")

    class Meta:
        model = Customer
        fields: list[str] = []
        form = FilterForm

    def __init__(self, data=None, queryset=None, *, custom_fields=None, like=None, **kwargs):
        """`like`: a filter set whose rewards and custom fields this one offers too (a rule
        evaluated inside another filter, without reading them again)."""
        if queryset is None:
            queryset = Customer.objects.all()
        # Always bound: an empty filter still has to hide archived customers.
        super().__init__(data if data is not None else {}, queryset, **kwargs)
        self.reward_choices = (
            like.reward_choices
            if like is not None
            else [(ANY_REWARD, _("Any reward")), *Reward.objects.values_list("pk", "name")]
        )
        if "reward" in self.filters:
            self.filters["reward"].extra["choices"] = self.reward_choices
        if like is not None:
            custom_fields = like.custom_fields
        elif custom_fields is None:
            custom_fields = list(CustomFieldDefinition.objects.filter(is_active=True))
        self.custom_fields = custom_fields
        self.custom_field_names = []
        for definition in custom_fields:
            name = f"cf_{definition.key}"
            if self.only is not None and name not in self.only:
                continue
            self.filters[name] = custom_field_filter(definition)
            self.custom_field_names.append(name)

    # The criteria a rule filter set offers (None: every criterion); see `for_rule`.
    only: frozenset[str] | None = None

    @classmethod
    def for_rule(cls, data, queryset=None, *, like=None):
        """A filter set of only the criteria `data` names (and the archive switch): the same
        selection as a full one, at a fraction of its cost, for a rule evaluated inside
        another filter (an audience's). A parameter is a criterion's name or its name with a
        range suffix (points_min, joined_after)."""
        names = {"archived"}
        for key in data:
            names.update((key, key.rsplit("_", 1)[0]))
        return _rule_filterset_class(frozenset(names))(data, queryset, like=like)

    def filter_noop(self, queryset, name, value):
        return queryset

    def filter_quick_search(self, queryset, name, value):
        for term in search_terms(value):
            queryset = queryset.filter(search_text__like=anywhere_pattern(term))
        return queryset

    def filter_email(self, queryset, name, value):
        return queryset.filter(search_text__like=segment_pattern("e", fold(value)))

    def filter_name(self, queryset, name, value):
        for term in fold(value).split(" "):
            if term:
                queryset = queryset.filter(search_text__like=segment_pattern("n", term))
        return queryset

    def filter_phone(self, queryset, name, value):
        digits = "".join(ch for ch in value if ch.isdigit())
        if not digits:
            return queryset.none()
        return queryset.filter(search_text__like=segment_pattern("p", digits))

    def filter_old_member_id(self, queryset, name, value):
        return queryset.filter(old_member_id__iexact=value.strip())

    def filter_followed_oa(self, queryset, name, value):
        return queryset.filter(followed_oa_at__isnull=not value)

    def filter_app_used_days(self, queryset, name, value):
        return queryset.filter(app_last_seen_at__gte=timezone.now() - timedelta(days=int(value)))

    def filter_purchased_days(self, queryset, name, value):
        return queryset.filter(last_order_at__gte=timezone.now() - timedelta(days=int(value)))

    def filter_city(self, queryset, name, value):
        # Case- and accent-insensitive, by prefix ("hue" → Huế, "ha noi" → Hà Nội): the few
        # hundred distinct cities are matched in Python, the customers as "city iexact" each,
        # which the (UPPER(city), rank) index serves (city IN (…) took the plain city index
        # and a bitmap of every customer of the city instead).
        key = fold(value)
        cities = [city for city in distinct_cities() if fold(city).startswith(key)]
        if not cities:
            return queryset.none()
        return queryset.filter(reduce(or_, (Q(city__iexact=city) for city in cities)))

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        queryset = queryset.archived() if data.get("archived") else queryset.live()
        for name, value in data.items():  # unused criteria skipped without evaluating them
            if has_value(value):
                queryset = self.filters[name].filter(queryset, value)
        return self._filter_reward_purchases(queryset, data)

    def _filter_reward_purchases(self, queryset, data):
        reward, start, end, minimum = (
            data.get("reward"),
            data.get("reward_from"),
            data.get("reward_to"),
            data.get("reward_min"),
        )
        if not (reward or start or end or minimum):
            return queryset
        redemptions = RewardRedemption.objects.filter(customer=OuterRef("pk"))
        if reward and reward != ANY_REWARD:
            redemptions = redemptions.filter(reward_id=reward)
        # Day bounds as datetimes in the current time zone, so the index on redeemed_at serves.
        if start:
            redemptions = redemptions.filter(redeemed_at__gte=day_start(start))
        if end and end < date.max:
            redemptions = redemptions.filter(redeemed_at__lt=day_end(end))
        if not minimum or minimum <= 1:
            return queryset.filter(Exists(redemptions))
        counted = redemptions.order_by().values("customer").annotate(n=Count("pk")).values("n")
        return queryset.annotate(_redemptions=Coalesce(Subquery(counted[:1]), 0)).filter(
            _redemptions__gte=int(minimum)
        )

    @property
    def names_customers(self) -> bool:
        """True when the criteria name customers by an identifier: an old member ID, or a
        quick search, phone or email criterion whose every term has a digit or an "@" (phone
        numbers, emails, member numbers). Such a list is nearly always one page long."""
        data = self.form.cleaned_data if self.form.is_valid() else {}
        if data.get("old_member_id"):
            return True
        terms = [
            *search_terms(data.get("q") or ""),
            *(data.get("phone") or "").split(),
            *(data.get("email") or "").split(),
        ]
        return bool(terms) and all(any(c.isdigit() or c == "@" for c in t) for t in terms)

    # Amounts that are never negative: a lower bound of 0 or less keeps everyone.
    NON_NEGATIVE = {"points", "spent"}

    @property
    def is_filtered(self) -> bool:
        """True when any criterion narrows the list (the archive switch does not, nor a
        criterion that keeps everyone: every choice ticked, "points from 0")."""
        if not self.form.is_valid():
            return True
        return any(
            self._narrows(key, value)
            for key, value in self.form.cleaned_data.items()
            if key != "archived"
        )

    def _narrows(self, name: str, value) -> bool:
        if not has_value(value):
            return False
        field = self.form.fields[name]
        if isinstance(value, slice) and name in self.NON_NEGATIVE:
            return value.stop is not None or (value.start is not None and value.start > 0)
        # Fixed choices only: telling whether every rank or store is ticked would cost the list
        # two queries on every request. "Reachable by" asks for all ticked channels at once.
        if (
            isinstance(field, forms.MultipleChoiceField)
            and isinstance(value, list | tuple)
            and name != "reachable"
        ):
            every = {str(choice) for choice, _label in field.choices if choice != ""}
            return {str(item) for item in value} != every
        return True


@lru_cache(maxsize=512)
def _rule_filterset_class(names: frozenset[str]) -> type[CustomerFilterSet]:
    rule_class = type("RuleFilterSet", (CustomerFilterSet,), {"only": names})
    # Set after the class exists: django-filter's metaclass computes base_filters itself.
    rule_class.base_filters = {
        name: f for name, f in CustomerFilterSet.base_filters.items() if name in names
    }
    return rule_class


# The filter panel's sections: a key, a heading and the criteria under it. Contributed
# criteria join a section or open one of their own (`add_criteria(section=…)`).
SECTIONS: dict[str, tuple[str, list[str]]] = {
    "contact": (_("Contact"), ["name", "email", "phone", "old_member_id", "city"]),
    "membership": (_("Membership"), ["status", "customer_type", "store", "referral_source"]),
    "dates": (_("Dates"), ["joined", "last_access"]),
    "amounts": (_("Points and spend"), ["points", "spent"]),
    "behaviour": (
        _("Behaviour"),
        ["followed_oa", "app_used_days", "purchased_days", "orders_min"],
    ),
    "rewards": (_("Reward purchases"), ["reward", "reward_from", "reward_to", "reward_min"]),
    "consent": (
        _("Marketing consent"),
        ["consent_email", "consent_sms", "consent_app", "reachable"],
    ),
}


def add_criteria(
    criteria: dict[str, filters.Filter],
    *,
    after: str | None = None,
    section: str | None = None,
    heading: str = "",
) -> None:
    """Contribute criteria to the one filter language (from an app's AppConfig.ready).

    They join `CustomerFilterSet.base_filters`, the filters every filter set copies, so the
    list, exports, audiences and rules all have them; `after` places them after that criterion
    (the chips' reading order), `section` names the panel section they appear in (a new one
    needs its `heading`). Contributing a name again replaces it."""
    items = [
        (name, f) for name, f in CustomerFilterSet.base_filters.items() if name not in criteria
    ]
    at = len(items) if after is None else [name for name, _f in items].index(after) + 1
    items[at:at] = criteria.items()
    CustomerFilterSet.base_filters = dict(items)
    _rule_filterset_class.cache_clear()
    if section is not None:
        names = SECTIONS.setdefault(section, (heading, []))[1]
        names.extend(name for name in criteria if name not in names)


def panel_sections() -> list[tuple[str, list[str]]]:
    """The panel's sections in order, each with its criteria in the filter set's order."""
    order = {name: index for index, name in enumerate(CustomerFilterSet.base_filters)}
    return [
        (heading, sorted(names, key=lambda name: order.get(name, len(order))))
        for heading, names in SECTIONS.values()
    ]


class _JSONKeyFilter(filters.Filter):
    """Base for custom-field filters: values live in Customer.custom_fields[key]."""

    def __init__(self, *args, key: str, **kwargs):
        self.key = key
        super().__init__(*args, **kwargs)

    @property
    def path(self) -> str:
        return f"custom_fields__{self.key}"


class CustomTextFilter(_JSONKeyFilter, filters.CharFilter):
    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.path}__icontains": value.strip()})


class CustomChoiceFilter(_JSONKeyFilter, filters.ChoiceFilter):
    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        return qs.filter(_json_equals(self.key, value))


class CustomBooleanFilter(_JSONKeyFilter, filters.BooleanFilter):
    def filter(self, qs, value):
        if value is None:
            return qs
        if value:
            return qs.filter(_json_equals(self.key, True))
        return qs.exclude(_json_equals(self.key, True))


class CustomRangeFilter(_JSONKeyFilter, BoundedRangeFilter):
    def filter(self, qs, value):
        if not value:
            return qs
        if value.start is not None:
            qs = qs.filter(**{f"{self.path}__gte": _json_number(value.start)})
        if value.stop is not None:
            qs = qs.filter(**{f"{self.path}__lte": _json_number(value.stop)})
        return qs


class CustomDateRangeFilter(_JSONKeyFilter, filters.DateFromToRangeFilter):
    # Dates are stored as ISO strings, which sort as dates.
    def filter(self, qs, value):
        if not value:
            return qs
        if value.start is not None:
            qs = qs.filter(**{f"{self.path}__gte": value.start.date().isoformat()})
        if value.stop is not None:
            qs = qs.filter(**{f"{self.path}__lte": value.stop.date().isoformat()})
        return qs


def _json_number(value: Decimal):
    return int(value) if value == value.to_integral_value() else float(value)


def _json_equals(key: str, value) -> Q:
    # Containment (`@>`) lets PostgreSQL use the GIN index on custom_fields; SQLite has no
    # JSON containment, so it compares the key directly.
    if connection.vendor == "postgresql":
        return Q(custom_fields__contains={key: value})
    return Q(**{f"custom_fields__{key}": value})


def custom_field_filter(definition: CustomFieldDefinition) -> filters.Filter:
    kinds = CustomFieldDefinition.FieldType
    common = {"key": definition.key, "label": definition.label}
    if definition.field_type == kinds.NUMBER:
        return CustomRangeFilter(**common)
    if definition.field_type == kinds.DATE:
        return CustomDateRangeFilter(
            widget=filters.widgets.DateRangeWidget(attrs={"type": "date"}), **common
        )
    if definition.field_type == kinds.CHOICE:
        return CustomChoiceFilter(choices=[(c, c) for c in definition.choices], **common)
    if definition.field_type == kinds.BOOLEAN:
        return CustomBooleanFilter(**common)
    return CustomTextFilter(**common)
