"""What every browser test shares: the marks that run it (or skip it without Chromium) and
signing in."""

import os
import shutil

import pytest
from playwright.sync_api import expect

from loyalty_admin.roles import ADMINISTRATOR
from tests.conftest import make_staff

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_TESTS = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    # CI sets LOYALTY_REQUIRE_BROWSER so a missing Chromium fails the run instead of skipping.
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("LOYALTY_REQUIRE_BROWSER"),
        reason="Chromium is not installed",
    ),
]


def sign_in(page, live_server, role=ADMINISTRATOR):
    user = make_staff(role)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-1234")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
