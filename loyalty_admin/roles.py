"""Staff roles: Django groups and the permissions each one holds (DESIGN.md §6).

The groups are created by a migration; `sync_roles` also runs after every `migrate`, so a
permission added by a later model or migration reaches the roles that list it. Entries naming a
permission that does not exist yet are skipped, which lets a role list a capability before the
app that provides it lands.
"""

import functools

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.models import CharField, Value

ADMINISTRATOR = "Administrator"
SALES = "Sales"
MARKETING = "Marketing"
CUSTOMER_CARE = "Customer care"

# Apps whose every permission an Administrator holds.
ADMINISTRATOR_APPS = (
    "auth",
    "customers",
    "ranks",
    "tags",
    "audiences",
    "wholesale",
    "cards",
    "migration",
    "console",
)

_READ_REFERENCE = (
    "customers.view_customer",
    "customers.view_store",
    "customers.view_order",
    "customers.view_pointstransaction",
    "customers.view_reward",
    "customers.view_rewardredemption",
    "customers.view_customertask",
    "customers.view_customfielddefinition",
    "ranks.view_rank",
    "tags.view_tag",
)

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    SALES: (
        *_READ_REFERENCE,
        "customers.add_customer",
        "customers.change_customer",
        "customers.export_customer",
        "customers.bulk_update_customer",
        "tags.assign_tag",
        "wholesale.view_wholesaleapplication",
        "wholesale.review_wholesaleapplication",
        "audiences.view_audience",
        "cards.view_touristcard",
    ),
    MARKETING: (
        *_READ_REFERENCE,
        "customers.export_customer",
        "tags.add_tag",
        "tags.change_tag",
        "tags.delete_tag",
        "tags.assign_tag",
        "audiences.view_audience",
        "audiences.add_audience",
        "audiences.change_audience",
        "audiences.delete_audience",
        "wholesale.view_wholesaleapplication",
        "cards.view_touristcard",
        "console.view_scheduledexport",
        "console.add_scheduledexport",
        "console.change_scheduledexport",
        "console.delete_scheduledexport",
    ),
    CUSTOMER_CARE: (
        *_READ_REFERENCE,
        "customers.change_customer",
        "customers.send_password_reset",
        "customers.export_personal_data",  # a customer's access request, at the desk
        # Care staff settle complaints, which sometimes means a rank by hand (with a reason).
        "ranks.override_rank",
        "tags.assign_tag",
        "cards.view_touristcard",
        "cards.activate_touristcard",
        "cards.view_passport_touristcard",
        "audiences.view_audience",
        "wholesale.view_wholesaleapplication",
    ),
}

ROLES = (ADMINISTRATOR, SALES, MARKETING, CUSTOMER_CARE)


def role_permissions(role: str):
    """Return the Permission queryset a role should hold."""
    if role == ADMINISTRATOR:
        return Permission.objects.filter(content_type__app_label__in=ADMINISTRATOR_APPS)
    wanted = ROLE_PERMISSIONS[role]
    by_app: dict[str, list[str]] = {}
    for name in wanted:
        app_label, codename = name.split(".", 1)
        by_app.setdefault(app_label, []).append(codename)
    permissions = Permission.objects.none()
    for app_label, codenames in by_app.items():
        permissions |= Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
    return permissions


def sync_roles() -> None:
    """Create the role groups and set each one's permissions to exactly its list."""
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(role_permissions(role))


def sync_roles_after_migrate(sender, app_config=None, using="default", **kwargs):
    # post_migrate fires once per app that has models; the last of them triggers the real
    # sync, after every app's permissions exist. (Apps without models get no signal.)
    from django.apps import apps

    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if app_config is not None and app_config is with_models[-1]:
        sync_roles()


class RoleBackend(ModelBackend):
    """Django's ModelBackend, with a user's permissions and role names read in one query.

    ModelBackend reads the user's own permissions and their groups' permissions in two queries,
    and the user menu read the group names in a third: every signed-in page paid all three.
    Superusers keep ModelBackend's answer (every permission).
    """

    def get_all_permissions(self, user_obj, obj=None):
        # Where ModelBackend would read and cache them: an active user's, for no one object.
        loads = user_obj.is_active and not user_obj.is_anonymous and obj is None
        if loads and not user_obj.is_superuser and not hasattr(user_obj, "_perm_cache"):
            _load_roles(user_obj)
        return super().get_all_permissions(user_obj, obj)


def role_names(user) -> list[str]:
    """The names of the user's roles (groups), read once per request with their permissions."""
    if not hasattr(user, "_role_names"):
        _load_roles(user)
    return user._role_names


# A stand-in user id in the parameters of the roles query compiled once per process.
_ANY_USER = -1


@functools.cache
def _roles_query() -> tuple[str, tuple]:
    """The SQL of a user's role names and permissions: (role, app label, codename) rows, role
    '' for the user's own permissions. Compiled once: compiling the union cost about as much
    as running it, on every request."""
    own = (
        Permission.objects.filter(user=_ANY_USER)
        .order_by()
        .annotate(role=Value("", output_field=CharField()))
        .values_list("role", "content_type__app_label", "codename")
    )
    rows = (
        Group.objects.filter(user=_ANY_USER)
        .order_by()
        .values_list("name", "permissions__content_type__app_label", "permissions__codename")
        .union(own, all=True)
    )
    return rows.query.sql_with_params()


def _load_roles(user) -> None:
    """Fill the permission caches ModelBackend keeps on the user, and the role names."""
    sql, params = _roles_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk if value == _ANY_USER else value for value in params])
        rows = cursor.fetchall()
    names, from_user, from_groups = set(), set(), set()
    for role, app_label, codename in rows:
        if role:
            names.add(role)
        if codename:
            (from_groups if role else from_user).add(f"{app_label}.{codename}")
    user._role_names = sorted(names)
    if user.is_active and not user.is_superuser:
        user._user_perm_cache, user._group_perm_cache = from_user, from_groups
        user._perm_cache = from_user | from_groups
