"""The member domain's models: Customer and its activity (orders, points ledger, reward
redemptions, tasks, timeline events, marketing consent), stores, custom-field definitions,
saved list views and preferences, password links, and the job rows of exports and bulk changes.
Over 500 lines because Django finds an app's models in one module; each class is small and
stands alone."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.jobs import Job


class Store(models.Model):
    """A shop or channel where customers buy; customers may prefer one."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    city = models.CharField(_("city"), max_length=80, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class CustomFieldDefinition(models.Model):
    """An admin-defined customer attribute; each one becomes a form field and a filter."""

    class FieldType(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")
        BOOLEAN = "boolean", _("Yes / no")

    key = models.SlugField(
        _("key"),
        max_length=40,
        unique=True,
        help_text=_("Stored name; letters, digits and underscores."),
    )
    label = models.CharField(_("label"), max_length=80)
    field_type = models.CharField(_("type"), max_length=10, choices=FieldType)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "label"]
        constraints = [
            models.CheckConstraint(
                condition=Q(field_type__in=["text", "number", "date", "choice", "boolean"]),
                name="customfield_type_valid",
            )
        ]

    def __str__(self):
        return self.label


class CustomerQuerySet(models.QuerySet):
    def live(self):
        """Customers that are not archived (anonymised records stay listed, without PII)."""
        return self.filter(archived_at__isnull=True)

    def archived(self):
        return self.filter(archived_at__isnull=False)

    def for_list(self):
        return self.select_related("rank", "preferred_store")


class Customer(models.Model):
    """A loyalty member."""

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")
        UNDISCLOSED = "undisclosed", _("Prefer not to say")

    class CustomerType(models.TextChoices):
        RETAIL = "retail", _("Retail")
        WHOLESALE = "wholesale", _("Wholesale")
        TOURIST = "tourist", _("Tourist")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")
        BLOCKED = "blocked", _("Blocked")

    class ReferralSource(models.TextChoices):
        WALK_IN = "walk_in", _("Walk-in")
        WEBSITE = "website", _("Website")
        APP = "app", _("Mobile app")
        FRIEND = "friend", _("Friend referral")
        SOCIAL = "social", _("Social media")
        OFFICIAL_ACCOUNT = "official_account", _("Official account")
        EVENT = "event", _("Event")
        IMPORT = "import", _("Imported")
        OTHER = "other", _("Other")

    # The four identifiers are unique through Meta.constraints, not `unique=True`: on PostgreSQL
    # that would add a second (varchar_pattern_ops) index to each for LIKE 'prefix%', which no
    # query here runs (searches use search_text) — four index entries per insert and their
    # disk space for nothing. The optional ones are NULL when absent (not ""), so
    # that any number of customers may have none.
    member_number = models.CharField(_("member number"), max_length=20)
    old_member_id = models.CharField(_("old member ID"), max_length=64, null=True, blank=True)  # noqa: DJ001
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80, blank=True)
    email = models.EmailField(_("email"), null=True, blank=True)  # noqa: DJ001
    phone = models.CharField(_("mobile number"), max_length=20, null=True, blank=True)  # noqa: DJ001
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=12, choices=Gender, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    city = models.CharField(_("city"), max_length=80, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, default="VN")
    customer_type = models.CharField(
        _("customer type"), max_length=10, choices=CustomerType, default=CustomerType.RETAIL
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.ACTIVE)
    rank = models.ForeignKey(
        "ranks.Rank",
        verbose_name=_("rank"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    rank_overridden = models.BooleanField(_("rank set manually"), default=False)
    rank_override_expires_at = models.DateTimeField(_("override expires at"), null=True, blank=True)
    # Set when the member fell below their rank under a grace-period policy; the rank drops
    # at the first evaluation after this moment unless they qualify again.
    rank_grace_until = models.DateTimeField(_("rank kept until"), null=True, blank=True)
    points_balance = models.IntegerField(_("points balance"), default=0)
    lifetime_points = models.IntegerField(_("lifetime points"), default=0)
    total_spent = models.DecimalField(_("total spent"), max_digits=14, decimal_places=2, default=0)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    last_order_at = models.DateTimeField(_("last order at"), null=True, blank=True)
    preferred_store = models.ForeignKey(
        Store,
        verbose_name=_("preferred store"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    referral_source = models.CharField(
        _("referral source"), max_length=20, choices=ReferralSource, blank=True
    )
    referred_by = models.ForeignKey(
        "self",
        verbose_name=_("referred by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    last_access_at = models.DateTimeField(_("last access"), null=True, blank=True)
    followed_oa_at = models.DateTimeField(_("followed official account at"), null=True, blank=True)
    app_last_seen_at = models.DateTimeField(_("app last seen at"), null=True, blank=True)
    password = models.CharField(_("app password hash"), max_length=128, blank=True)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    # Lower-case, accent-free, segment-marked text kept by customers.search_text; see there.
    search_text = models.TextField(editable=False, default="")
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    # The import that created the customer: the "Created" entry of their timeline (an import of
    # 100,000 customers writes no 100,000 timeline rows to say so) and what its undo removes.
    import_job = models.ForeignKey(
        "migration.ImportJob",
        verbose_name=_("created by import"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # customer_import_idx: imported customers only
    )
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-joined_at", "-id"]
        permissions = [
            ("export_customer", _("Can export customers")),
            ("bulk_update_customer", _("Can change customers in bulk")),
            ("send_password_reset", _("Can send customers a password-reset link")),
            ("archive_customer", _("Can archive and restore customers")),
            ("erase_customer", _("Can anonymise customers on an erasure request")),
            ("export_personal_data", _("Can export a customer's own data on an access request")),
        ]
        constraints = [
            *(
                models.UniqueConstraint(fields=[name], name=f"customer_{name}_unique")
                for name in ("member_number", "old_member_id", "email", "phone")
            ),
            models.CheckConstraint(
                condition=Q(email__isnull=False) | Q(phone__isnull=False) | ~Q(member_number=""),
                name="customer_has_identifier",
            ),
            models.CheckConstraint(
                condition=Q(points_balance__gte=0), name="customer_points_balance_gte_0"
            ),
        ]
        indexes = [
            models.Index(fields=["-joined_at", "-id"], name="customer_joined_idx"),
            models.Index(fields=["total_spent", "id"], name="customer_spent_idx"),
            models.Index(fields=["points_balance", "id"], name="customer_points_idx"),
            models.Index(fields=["last_access_at"], name="customer_last_access_idx"),
            models.Index(fields=["city"], name="customer_city_idx"),
            models.Index(fields=["last_name", "first_name"], name="customer_name_idx"),
            # Status filters the live list in its default order without a sort.
            models.Index(
                fields=["status", "-joined_at", "-id"],
                name="customer_status_idx",
                condition=Q(archived_at__isnull=True),
            ),
            models.Index(fields=["customer_type"], name="customer_type_idx"),
            models.Index(fields=["referral_source"], name="customer_referral_idx"),
            models.Index(
                fields=["archived_at"],
                name="customer_archived_idx",
                condition=Q(archived_at__isnull=False),
            ),
            models.Index(
                fields=["import_job"],
                name="customer_import_idx",
                condition=Q(import_job__isnull=False),
            ),
        ]

    def __str__(self):
        return self.full_name or self.email or self.phone or self.member_number

    def get_absolute_url(self):
        return reverse("customers:detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.last_name, self.first_name) if part)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    number = models.CharField(_("number"), max_length=30, unique=True)
    # Indexed by order_customer_idx (customer, -placed_at); no index of its own.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    placed_at = models.DateTimeField(_("placed at"))
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.COMPLETED)

    class Meta:
        ordering = ["-placed_at"]
        indexes = [models.Index(fields=["customer", "-placed_at"], name="order_customer_idx")]

    def __str__(self):
        return self.number


class PointsTransaction(models.Model):
    """One movement on a customer's points ledger; the balance is never set without one."""

    class Reason(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        REDEMPTION = "redemption", _("Reward redemption")
        TASK = "task", _("Task completed")
        BONUS = "bonus", _("Bonus")
        ADJUSTMENT = "adjustment", _("Manual adjustment")
        IMPORT = "import", _("Import")
        EXPIRY = "expiry", _("Expiry")

    # Indexed by points_customer_idx (customer, -created_at); no index of its own.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="points_transactions", db_index=False
    )
    delta = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=12, choices=Reason)
    balance_after = models.IntegerField(_("balance after"))
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="points_customer_idx"),
        ]

    def __str__(self):
        return f"{self.delta:+d} ({self.get_reason_display()})"


class Reward(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    points_cost = models.PositiveIntegerField(_("points cost"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class RewardRedemption(models.Model):
    # Both indexed by the composite indexes below that start with them.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="redemptions", db_index=False
    )
    reward = models.ForeignKey(
        Reward, on_delete=models.PROTECT, related_name="redemptions", db_index=False
    )
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT)
    redeemed_at = models.DateTimeField(_("redeemed at"), default=timezone.now)
    points_spent = models.PositiveIntegerField(_("points spent"))

    class Meta:
        ordering = ["-redeemed_at"]
        indexes = [
            models.Index(
                fields=["customer", "reward", "redeemed_at"], name="redemption_lookup_idx"
            ),
            # With the customer, the customers who bought a reward come from the index alone
            # (a list's count of them reads no redemption rows).
            models.Index(
                fields=["reward", "redeemed_at", "customer"], name="redemption_reward_idx"
            ),
        ]

    def __str__(self):
        return f"{self.reward} @ {self.redeemed_at:%Y-%m-%d}"


class CustomerTask(models.Model):
    """A loyalty task or achievement a customer works towards."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        EXPIRED = "expired", _("Expired")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tasks")
    name = models.CharField(_("task"), max_length=120)
    status = models.CharField(
        _("status"), max_length=12, choices=Status, default=Status.IN_PROGRESS
    )
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    points_awarded = models.PositiveIntegerField(_("points awarded"), default=0)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="customertask_progress_lte_100"
            )
        ]

    def __str__(self):
        return self.name


class CustomerEvent(models.Model):
    """One entry on a customer's timeline: who did what, when, with the field changes."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        STATUS = "status", _("Status changed")
        ARCHIVED = "archived", _("Archived")
        RESTORED = "restored", _("Restored")
        ANONYMISED = "anonymised", _("Anonymised")
        PASSWORD_RESET_SENT = "reset_sent", _("Password-reset link sent")
        PASSWORD_CHANGED = "password_set", _("Password set by the customer")
        TAGS = "tags", _("Tags changed")
        RANK = "rank", _("Rank changed")
        EXPORTED = "exported", _("Exported")
        CONSENT = "consent", _("Marketing consent changed")
        WHOLESALE = "wholesale", _("Wholesale")
        TOURIST_CARD = "tourist_card", _("Tourist card")

    # Indexed by event_customer_idx (customer, -created_at); no index of its own.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(_("message"), max_length=255, blank=True)
    # {field: [old, new]} with display values.
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="event_customer_idx"),
            models.Index(fields=["-created_at"], name="event_recent_idx"),
        ]
        get_latest_by = "created_at"

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class PersonalDataAccess(models.Model):
    """Who saw whose personal data: a customer's page opened, a masked value shown in full,
    personal columns exported. Kept PII_LOG_RETENTION_DAYS, then pruned."""

    class Kind(models.TextChoices):
        VIEWED = "viewed", _("Opened the customer's page")
        REVEALED = "revealed", _("Saw a masked value in full")
        EXPORTED = "exported", _("Exported personal columns")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # (customer, -at) below
    )
    kind = models.CharField(_("what"), max_length=10, choices=Kind)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")
        indexes = [
            models.Index(fields=["-at"], name="pii_recent_idx"),
            models.Index(fields=["customer", "-at"], name="pii_customer_idx"),
            models.Index(fields=["user", "-at"], name="pii_user_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class MarketingConsent(models.Model):
    """A customer's current answer on being sent marketing on one channel, with when and from
    where it was given or withdrawn; each change is also on the customer's timeline. No row:
    never asked, which counts as no consent."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        APP = "app", _("App / Zalo")

    class Source(models.TextChoices):
        FORM = "form", _("Staff form")
        IMPORT = "import", _("Import")
        COUNTER = "counter", _("At the counter")
        REQUEST = "request", _("Customer's request")

    # Indexed by consent_unique (customer, channel); no index of its own.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consents", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel)
    granted = models.BooleanField(_("agreed"))
    changed_at = models.DateTimeField(_("given or withdrawn at"), default=timezone.now)
    source = models.CharField(_("from"), max_length=10, choices=Source, default=Source.FORM)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="consent_unique"),
        ]
        indexes = [
            # "Agreed on this channel", counted over an audience or a whole filter.
            models.Index(
                fields=["channel", "customer"],
                name="consent_granted_idx",
                condition=Q(granted=True),
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()}: {'yes' if self.granted else 'no'}"


class PasswordResetLink(models.Model):
    """A single-use, short-lived link that lets a customer set a new app password."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="password_reset_links"
    )
    # SHA-256 of the token; the token itself only ever exists in the email.
    token_hash = models.CharField(max_length=64, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "-created_at"], name="resetlink_customer_idx")]

    def __str__(self):
        return f"reset link {self.pk} for customer {self.customer_id}"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


class SavedView(models.Model):
    """A named customer-list filter with its columns, private to its owner or shared."""

    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_customer_views"
    )
    query_string = models.TextField(_("filter"), blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    is_shared = models.BooleanField(_("shared with all staff"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedview_owner_name_unique")
        ]

    def __str__(self):
        return self.name


class ListPreference(models.Model):
    """A staff member's chosen columns for the customer list."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_list_preference"
    )
    columns = models.JSONField(default=list)

    def __str__(self):
        return f"columns of {self.user_id}"


class ExportJob(Job):
    """One export of customers: the log entry for every export and the state of large ones."""

    class Format(models.TextChoices):
        XLSX = "xlsx", _("Excel (.xlsx)")
        CSV = "csv", _("CSV")

    query_string = models.TextField(blank=True)
    # The filter in words, as the export log shows it (written once, when the job is made).
    description = models.TextField(blank=True)
    selected_ids = models.JSONField(default=list, blank=True)
    columns = models.JSONField(default=list)
    file_format = models.CharField(max_length=4, choices=Format, default=Format.XLSX)
    # Text cells longer than a spreadsheet cell holds, written cut with a visible marker.
    cells_cut = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    file_size = models.PositiveBigIntegerField(_("file size"), null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    task_name = "console.tasks.export_customers_task"
    retry_refusal = _("Only a failed export can be retried.")

    class Meta(Job.Meta):
        pass

    def __str__(self):
        return f"export {self.pk} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("customers:export_detail", args=[self.pk])

    @property
    def is_downloadable(self) -> bool:
        return (
            self.status == self.Status.DONE
            and bool(self.file)
            and (self.expires_at is None or self.expires_at > timezone.now())
        )


class ExportDownload(models.Model):
    """One download of an export's file: who and when (the export log lists them)."""

    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"download of {self.job_id} at {self.at:%Y-%m-%d %H:%M}"


class BulkChange(Job):
    """A change to many customers run in the background — a status, archiving, a manual rank,
    tagging, automatic-tag rules — kept so its outcome, or why it failed, stays visible."""

    class Kind(models.TextChoices):
        STATUS = "status", _("Status change")
        ARCHIVE = "archive", _("Archiving")
        RANK = "rank", _("Manual rank")
        TAG = "tag", _("Tagging")
        UNTAG = "untag", _("Untagging")
        RULES = "rules", _("Automatic-tag rules")
        AUDIENCE_ADD = "aud_add", _("Added to an audience")
        AUDIENCE_REMOVE = "aud_remove", _("Removed from an audience")

    kind = models.CharField(max_length=10, choices=Kind)
    query_string = models.TextField(blank=True)
    # The filter in words, as the page shows it (written once, when the change is made).
    description = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    outcome = models.JSONField(default=dict, blank=True)

    task_name = "customers.tasks.run_bulk_change"
    retry_refusal = _("Only a failed change can be retried.")

    class Meta(Job.Meta):
        pass

    def __str__(self):
        return f"{self.get_kind_display()} {self.pk} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("customers:changes") + f"#change-{self.pk}"
