"""Roles: a user's permissions and role names read in one query (loyalty_admin.roles)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from loyalty_admin.roles import CUSTOMER_CARE, SALES, role_names, role_permissions
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


def _held(role: str) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in role_permissions(role).values_list(
            "content_type__app_label", "codename"
        )
    }


def _fresh(user):
    """The user as the next request loads it: no permissions cached on the object."""
    return get_user_model().objects.get(pk=user.pk)


def test_permissions_and_roles_come_from_one_query(django_assert_num_queries):
    user = make_staff(SALES)
    user.groups.add(Group.objects.get(name=CUSTOMER_CARE))
    own = Permission.objects.get(codename="delete_customer")
    user.user_permissions.add(own)
    user = _fresh(user)
    with django_assert_num_queries(1):
        permissions = user.get_all_permissions()
        assert role_names(user) == [CUSTOMER_CARE, SALES]
        assert user.has_perm("customers.delete_customer")
        assert user.has_perm("customers.add_customer")  # Sales only
        assert user.has_perm("ranks.override_rank")  # Customer care only
        assert not user.has_perm("customers.erase_customer")  # neither role
        assert user.get_user_permissions() == {"customers.delete_customer"}
    assert permissions == _held(SALES) | _held(CUSTOMER_CARE) | {"customers.delete_customer"}
    assert "customers.delete_customer" not in user.get_group_permissions()


def test_a_role_without_permissions_is_still_named():
    user = make_staff(SALES)
    user.groups.add(Group.objects.create(name="Interns"))
    user = _fresh(user)
    assert role_names(user) == ["Interns", SALES]
    assert user.get_all_permissions() == _held(SALES)


def test_a_permission_taken_from_a_role_is_gone_on_the_next_request():
    user = make_staff(SALES)
    assert _fresh(user).has_perm("customers.export_customer")
    Group.objects.get(name=SALES).permissions.remove(
        Permission.objects.get(codename="export_customer")
    )
    assert not _fresh(user).has_perm("customers.export_customer")


def test_an_inactive_user_holds_no_permission():
    user = make_staff(SALES)
    user.is_active = False
    user.save()
    user = _fresh(user)
    assert user.get_all_permissions() == set()
    assert not user.has_perm("customers.view_customer")


def test_a_superuser_holds_every_permission():
    user = _fresh(make_staff("superuser"))
    assert len(user.get_all_permissions()) == Permission.objects.count()
    assert role_names(user) == []


def _user_menu(client) -> str:
    body = client.get(reverse("dashboard")).content.decode()
    menu = body.split('dropdown-item-text small text-body-secondary">', 1)[1]
    return " ".join(menu.split("</span>", 1)[0].split())


def test_the_user_menu_names_the_roles(client):
    user = make_staff(SALES)
    user.groups.add(Group.objects.get(name=CUSTOMER_CARE))
    client.force_login(user)
    assert _user_menu(client) == f"{CUSTOMER_CARE} , {SALES}"
    client.force_login(make_staff("superuser"))
    assert _user_menu(client) == "Superuser"
