"""Staff management by administrators: accounts with one role, a password link by email,
deactivation, and never without an active Administrator."""

import re
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from loyalty_admin.roles import ADMINISTRATOR, CUSTOMER_CARE, MARKETING, SALES
from loyalty_admin.staff import services
from tests.conftest import ROLE_USERNAMES, make_staff

pytestmark = pytest.mark.django_db
User = get_user_model()


def new_staff(**overrides):
    return {
        "username": "lan.pham",
        "first_name": "Lan",
        "last_name": "Phạm",
        "email": "Lan.Pham@Example.vn",
        "role": SALES,
    } | overrides


def signs_in(username, password) -> bool:
    """Whether the login page lets the person in (a browser of their own)."""
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def test_an_administrator_adds_staff_who_set_their_own_password(admin_client, mailoutbox):
    response = admin_client.post(reverse("staff:create"), new_staff())
    person = User.objects.get(username="lan.pham")
    assert response.url == reverse("staff:detail", args=[person.pk])
    assert person.email == "lan.pham@example.vn" and not person.has_usable_password()
    assert services.role_of(person) == SALES and not person.is_staff
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["lan.pham@example.vn"]
    link = link_in(mailoutbox[0])
    client = Client()
    page = client.get(link, follow=True)  # Django moves the token into the session
    assert page.status_code == 200 and "Set your password" in page.content.decode()
    done = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "Sóng-biển-2026!", "new_password2": "Sóng-biển-2026!"},
        follow=True,
    )
    assert "Your password is set." in done.content.decode()
    assert signs_in("lan.pham", "Sóng-biển-2026!")
    again = client.get(link, follow=True).content.decode()
    assert "has been used or has expired" in again  # single use


def test_a_refused_account_keeps_what_was_typed(admin_client):
    make_staff(MARKETING)
    taken = User.objects.get(username="marketing")
    taken.email = "taken@example.vn"
    taken.save()
    body = admin_client.post(
        reverse("staff:create"),
        new_staff(username="marketing", email="TAKEN@example.vn", first_name="Thu"),
    ).content.decode()
    assert "This username is taken." in body and "Another staff account has this email." in body
    assert 'value="Thu"' in body
    assert not User.objects.filter(first_name="Thu").exists()


def test_changing_the_role_moves_the_account_between_groups(admin_client):
    person = make_staff(SALES)
    admin_client.post(
        reverse("staff:detail", args=[person.pk]),
        {"first_name": "A", "last_name": "B", "email": "sales@example.vn", "role": ADMINISTRATOR},
    )
    person.refresh_from_db()
    assert services.role_of(person) == ADMINISTRATOR and person.is_staff
    assert list(person.groups.values_list("name", flat=True)) == [ADMINISTRATOR]


def test_the_last_active_administrator_cannot_be_demoted_or_deactivated(admin_client):
    admin = User.objects.get(username="admin")
    body = admin_client.post(
        reverse("staff:detail", args=[admin.pk]),
        {"first_name": "", "last_name": "", "email": "admin@example.vn", "role": SALES},
    ).content.decode()
    assert "admin is the last active Administrator" in body
    assert services.role_of(admin) == ADMINISTRATOR
    other = make_staff(ADMINISTRATOR, username="second-admin")
    services.set_active(user=admin, active=False, actor=other)  # allowed: one remains
    with pytest.raises(ValidationError, match="last active Administrator"):
        services.update_staff(
            user=other, first_name="", last_name="", email="", role=SALES, actor=other
        )
    with pytest.raises(ValidationError, match="last active Administrator"):
        services.set_active(user=other, active=False, actor=admin)
    other.refresh_from_db()
    assert other.is_active and services.role_of(other) == ADMINISTRATOR


def test_deactivation_stops_sign_in_and_can_be_undone(admin_client):
    person = make_staff(CUSTOMER_CARE)
    page = admin_client.get(reverse("staff:detail", args=[person.pk])).content.decode()
    assert "data-confirm" in page  # the browser asks before deactivating
    admin_client.post(reverse("staff:deactivate", args=[person.pk]))
    person.refresh_from_db()
    assert not person.is_active
    assert not signs_in(person.username, "pw-1234")
    listed = admin_client.get(reverse("staff:list"), {"active": "no"}).content.decode()
    assert person.username in listed
    admin_client.post(reverse("staff:activate", args=[person.pk]))
    assert signs_in(person.username, "pw-1234")


def test_nobody_deactivates_their_own_account(admin_client):
    admin = User.objects.get(username="admin")
    response = admin_client.post(reverse("staff:deactivate", args=[admin.pk]), follow=True)
    assert "You cannot deactivate your own account." in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active


def test_a_password_link_needs_an_email(admin_client, mailoutbox):
    person = make_staff(SALES)
    response = admin_client.post(reverse("staff:send_link", args=[person.pk]), follow=True)
    assert "has no email address" in response.content.decode() and mailoutbox == []
    person.email = "sales@example.vn"
    person.save()
    admin_client.post(reverse("staff:send_link", args=[person.pk]))
    assert mailoutbox[0].to == ["sales@example.vn"]


def test_the_list_shows_roles_and_last_sign_in_and_filters(admin_client):
    make_staff(SALES)
    make_staff(MARKETING)
    page = admin_client.get(reverse("staff:list")).content.decode()
    assert "sales" in page and "marketing" in page and "never" in page
    only_sales = admin_client.get(reverse("staff:list"), {"role": SALES}).content.decode()
    assert ">sales<" in only_sales and ">marketing<" not in only_sales
    found = admin_client.get(reverse("staff:list"), {"q": "market"}).content.decode()
    assert ">marketing<" in found and ">sales<" not in found


@pytest.mark.parametrize("role", [SALES, MARKETING, CUSTOMER_CARE])
def test_only_administrators_manage_staff(staff_client, role):
    client = staff_client(role)
    person = User.objects.get(username=ROLE_USERNAMES[role])
    assert client.get(reverse("staff:list")).status_code == 403
    assert client.post(reverse("staff:create"), new_staff()).status_code == 403
    assert client.post(reverse("staff:deactivate", args=[person.pk])).status_code == 403
    assert not User.objects.filter(username="lan.pham").exists()


def test_a_mail_server_down_keeps_the_account_and_says_to_send_again(admin_client, settings):
    # A real SMTP connection to a port nothing listens on.
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 5},
        }
    }
    response = admin_client.post(reverse("staff:create"), new_staff(), follow=True)
    body = response.content.decode()
    assert "is added, but the email could not be sent (" in body and "send it again" in body
    person = User.objects.get(username="lan.pham")
    again = admin_client.post(reverse("staff:send_link", args=[person.pk]), follow=True)
    assert "The email could not be sent (" in again.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers itself")
@pytest.mark.django_db(transaction=True)
def test_two_administrators_demoting_each_other_at_once_leave_one():
    first = make_staff(ADMINISTRATOR, username="admin-one")
    second = make_staff(ADMINISTRATOR, username="admin-two")
    start, outcomes = threading.Barrier(2), []

    def demote(actor, target):
        start.wait(10)
        try:
            services.update_staff(
                user=User.objects.get(pk=target.pk),
                first_name="",
                last_name="",
                email=f"{target.username}@example.vn",
                role=SALES,
                actor=actor,
            )
            outcomes.append("demoted")
        except ValidationError as error:
            outcomes.append(error.messages[0])
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=demote, args=pair) for pair in [(first, second), (second, first)]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert outcomes.count("demoted") == 1
    assert "last active Administrator" in next(o for o in outcomes if o != "demoted")
    assert User.objects.filter(is_active=True, groups__name=ADMINISTRATOR).count() == 1
