"""The sidebar: every module, shown only when it exists and the user may open it; and the
user menu's role names."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from loyalty_admin.roles import role_names

# (label, icon, url name, permission); modules whose URL does not exist yet are left out.
MODULES = (
    (_("Dashboard"), "speedometer2", "dashboard", None),
    (_("Customers"), "people", "customers:list", "customers.view_customer"),
    (_("Audiences"), "collection", "audiences:list", "audiences.view_audience"),
    (_("Ranks"), "award", "ranks:overview", "ranks.view_rank"),
    (_("Tags"), "tags", "tags:list", "tags.view_tag"),
    (_("Wholesale"), "shop", "wholesale:list", "wholesale.view_wholesaleapplication"),
    (_("Migration"), "upload", "migration:list", "migration.view_importjob"),
    (_("Tourist cards"), "passport", "cards:list", "cards.view_touristcard"),
    (_("Exports"), "download", "customers:exports", "customers.export_customer"),
    (_("Bulk changes"), "lightning", "customers:changes", "customers.view_customer"),
    (_("Staff"), "person-badge", "staff:list", "auth.view_user"),
    (
        _("Personal data log"),
        "eye",
        "customers:access_log",
        "customers.view_personaldataaccess",
    ),
)


def sidebar(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = []
    for label, icon, url_name, permission in MODULES:
        if permission and not user.has_perm(permission):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "icon": icon, "url": url, "active": False})
    # The module whose URL is the longest prefix of the current path is the active one.
    matches = [item for item in items if request.path.startswith(item["url"])]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return {"sidebar_items": items, "user_roles": role_names(user)}
