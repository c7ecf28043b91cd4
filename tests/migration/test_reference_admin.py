"""django-import-export on the Django admin's reference data: permissions and escaping."""

import pytest
import tablib
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from customers.admin import StoreResource
from customers.models import Store
from ranks.admin import RankResource
from ranks.models import Rank
from tests.customers.factories import RankFactory, StoreFactory

pytestmark = pytest.mark.django_db


def staff_with(*codenames):
    user = get_user_model().objects.create_user(
        "clerk-" + "-".join(codenames), password="pw-1234", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def test_exported_text_never_becomes_a_formula():
    StoreFactory(code="s1", name='=HYPERLINK("http://evil")', city="\tTab", address="-5")
    StoreFactory(code="s2", name="+HYPERLINK(1)", city="+84969788698", address="-1+2")
    first, second = sorted(StoreResource().export().dict, key=lambda row: row["code"])
    assert first["name"] == '\'=HYPERLINK("http://evil")'
    assert first["city"] == "'\tTab" and first["address"] == "-5"
    assert (second["name"], second["city"], second["address"]) == (
        "'+HYPERLINK(1)",
        "+84969788698",
        "'-1+2",
    )


def test_import_needs_the_add_permission_and_export_the_view_permission(client):
    client.force_login(staff_with("view_store"))
    assert client.get(reverse("admin:customers_store_import")).status_code == 403
    assert client.get(reverse("admin:customers_store_export")).status_code == 200
    client.force_login(staff_with("view_store", "add_store", "change_store"))
    assert client.get(reverse("admin:customers_store_import")).status_code == 200


def test_a_rank_import_that_breaks_the_ladder_rolls_back_with_the_reason():
    RankFactory(code="member", name="Member", level=1, threshold=0, is_default=True)
    data = tablib.Dataset(
        headers=[
            "code",
            "name",
            "level",
            "threshold",
            "benefits",
            "points_multiplier",
            "colour",
            "is_default",
        ]
    )
    data.append(["gold", "Gold", 2, 0, "", 1, "grey", 0])  # threshold does not rise
    result = RankResource().import_data(data, dry_run=False)
    assert result.has_errors()
    assert "Thresholds must rise with the level" in str(result.base_errors[0].error)
    assert list(Rank.objects.values_list("code", flat=True)) == ["member"]


def test_store_import_upserts_by_code():
    StoreFactory(code="hn", name="Old name")
    data = tablib.Dataset(headers=["code", "name", "city", "address", "is_active"])
    data.append(["hn", "Hà Nội Center", "Hà Nội", "", 1])
    data.append(["sg", "Sài Gòn", "TP HCM", "", 1])
    result = StoreResource().import_data(data, dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert dict(Store.objects.values_list("code", "name")) == {
        "hn": "Hà Nội Center",
        "sg": "Sài Gòn",
    }


def test_mapping_profiles_are_managed_in_the_django_admin(client):
    from migration.models import MappingProfile

    profile = MappingProfile.objects.create(name="POS", mapping={"Mail": "email"})
    client.force_login(staff_with("view_mappingprofile", "delete_mappingprofile"))
    assert (
        "POS" in client.get(reverse("admin:migration_mappingprofile_changelist")).content.decode()
    )
    client.post(
        reverse("admin:migration_mappingprofile_delete", args=[profile.pk]), {"post": "yes"}
    )
    assert not MappingProfile.objects.exists()
