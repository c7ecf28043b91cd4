"""Saved views: a named filter plus columns, private or shared with colleagues."""

import pytest
from django.urls import reverse

from customers.models import ListPreference, SavedView
from loyalty_admin.roles import ADMINISTRATOR, SALES
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


def save_view(client, name, query, shared=False):
    data = {"name": name, "query": query}
    if shared:
        data["is_shared"] = "on"
    return client.post(reverse("customers:view_create"), data, follow=True)


def test_saving_a_view_keeps_filter_and_columns(client):
    user = make_staff(ADMINISTRATOR)
    client.force_login(user)
    ListPreference.objects.create(user=user, columns=["name", "email"])
    response = save_view(client, "Hà Nội gold", "city=Hà+Nội&rank=1")
    assert "View “Hà Nội gold” saved." in response.content.decode()
    view = SavedView.objects.get(owner=user)
    assert view.query_string == "city=Hà+Nội&rank=1"
    assert view.columns == ["name", "email"]
    assert not view.is_shared


def test_duplicate_and_nameless_views_are_refused(client):
    client.force_login(make_staff(ADMINISTRATOR))
    save_view(client, "Mine", "q=a")
    response = save_view(client, "Mine", "q=b")
    assert "You already have a view named “Mine”." in response.content.decode()
    response = save_view(client, "", "q=b")
    assert "Give the view a name." in response.content.decode()
    assert SavedView.objects.count() == 1


def test_opening_a_view_restores_filter_and_columns(client):
    owner = make_staff(ADMINISTRATOR)
    view = SavedView.objects.create(
        owner=owner,
        name="Spenders",
        query_string="spent_min=1000",
        columns=["name", "total_spent", "gone_column"],
    )
    client.force_login(owner)
    assert client.get(reverse("customers:view_open", args=[view.pk])).status_code == 405
    assert not ListPreference.objects.exists()  # a GET changes nothing
    response = client.post(reverse("customers:view_open", args=[view.pk]))
    assert response.status_code == 302
    assert response["Location"].endswith("/customers/?spent_min=1000")
    assert ListPreference.objects.get(user=owner).columns == ["name", "total_spent"]


def test_shared_views_are_visible_to_colleagues_private_ones_are_not(client):
    owner = make_staff(ADMINISTRATOR)
    shared = SavedView.objects.create(owner=owner, name="Team view", is_shared=True)
    private = SavedView.objects.create(owner=owner, name="My view")
    colleague = make_staff(SALES)
    client.force_login(colleague)
    page = client.get(reverse("customers:list")).content.decode()
    assert "Team view" in page and "My view" not in page
    assert client.post(reverse("customers:view_open", args=[shared.pk])).status_code == 302
    assert client.post(reverse("customers:view_open", args=[private.pk])).status_code == 404
    # A colleague may use a shared view but not delete it.
    assert client.post(reverse("customers:view_delete", args=[shared.pk])).status_code == 404
    assert SavedView.objects.filter(pk=shared.pk).exists()


def test_owner_deletes_own_view(client):
    owner = make_staff(ADMINISTRATOR)
    view = SavedView.objects.create(owner=owner, name="Old")
    client.force_login(owner)
    response = client.post(reverse("customers:view_delete", args=[view.pk]), follow=True)
    assert "View “Old” deleted." in response.content.decode()
    assert not SavedView.objects.exists()
