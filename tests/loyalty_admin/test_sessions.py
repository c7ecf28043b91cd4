"""The idle timeout slides without a session write per request (loyalty_admin.middleware)."""

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from loyalty_admin.middleware import REFRESHED_KEY
from loyalty_admin.roles import ADMINISTRATOR

pytestmark = pytest.mark.django_db


def _session_writes(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return sum('UPDATE "django_session"' in q["sql"] for q in queries.captured_queries)


def _row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_a_session_in_use_is_written_at_most_once_a_minute(staff_client):
    client = staff_client(ADMINISTRATOR)
    url = reverse("customers:list")
    assert _session_writes(client, url) == 0  # the login stamped it
    assert _session_writes(client, url) == 0


def test_a_session_not_refreshed_for_a_minute_gets_its_full_lifetime_again(staff_client, settings):
    client = staff_client(ADMINISTRATOR)
    session = client.session
    session[REFRESHED_KEY] = int(time.time()) - settings.SESSION_REFRESH_SECONDS
    session.save()
    Session.objects.filter(pk=session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=5)
    )
    assert _session_writes(client, reverse("customers:list")) == 1
    lifetime = _row(client).expire_date - timezone.now()
    assert lifetime > timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE  # the browser's copy too


def test_an_idle_session_ends(staff_client):
    client = staff_client(ADMINISTRATOR)
    Session.objects.filter(pk=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(reverse("customers:list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_anonymous_visitors_get_no_session_row(client, settings):
    assert client.get(reverse("login")).status_code == 200
    client.cookies[settings.SESSION_COOKIE_NAME] = "not-a-session"
    assert client.get(reverse("login")).status_code == 200
    assert not Session.objects.exists()
