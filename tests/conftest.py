from contextlib import suppress

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test.testcases import DatabaseOperationForbidden

from core.db import close_side_connections
from loyalty_admin.roles import (
    ADMINISTRATOR,
    CUSTOMER_CARE,
    MARKETING,
    ROLES,
    SALES,
    sync_roles,
)

ROLE_USERNAMES = {
    ADMINISTRATOR: "admin",
    SALES: "sales",
    MARKETING: "marketing",
    CUSTOMER_CARE: "care",
}


def make_staff(role: str | None, username: str | None = None):
    User = get_user_model()
    if role == "superuser":
        return User.objects.create_superuser(username=username or "root", password="pw-root-1")
    user = User.objects.create_user(username=username or ROLE_USERNAMES[role], password="pw-1234")
    if not Group.objects.filter(name=role).exists():
        sync_roles()  # transactional tests flush the groups the migration created
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path_factory):
    """Uploaded documents and written files go to a folder of the test's own, never into the
    checkout's media folder."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: cached dashboard figures from one test must not
    stand in for another's rows. The cache is the database's: a test's transaction rolls its
    entries back, but a transactional test commits them, so they are cleared after it too.
    (Where the test has no database access yet or any more, there is nothing to clear.)"""
    _clear_cache()
    yield
    _clear_cache()


def _clear_cache():
    # RuntimeError, DatabaseOperationForbidden: no database access here (yet, or any more).
    with suppress(RuntimeError, DatabaseOperationForbidden):
        cache.clear()


@pytest.fixture(autouse=True)
def _close_side_connections():
    """Pages served outside the test's transaction (browser tests, transactional tests) may
    count on side connections (core.db.side_query): close them after each test, or the
    test database could not be flushed or dropped while they are open."""
    yield
    close_side_connections()


@pytest.fixture
def staff_client(client, db):
    """A function giving a client signed in as a user of the given role."""

    def sign_in(role: str):
        client.force_login(make_staff(role))
        return client

    return sign_in


@pytest.fixture
def admin_client(staff_client):
    return staff_client(ADMINISTRATOR)


@pytest.fixture
def admin_user(db):
    return make_staff(ADMINISTRATOR, username="admin-user")


@pytest.fixture(params=ROLES)
def role(request):
    return request.param
