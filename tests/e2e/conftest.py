"""The browser: headless Debian Chromium driven by Playwright against live_server."""

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

from tests.e2e.browser import CHROMIUM
from tests.loyalty_admin.test_access import objects  # noqa: F401 - a fixture the walk reuses


@pytest.fixture
def page(live_server, monkeypatch):
    # The sync Playwright API runs an event loop in this thread, where Django refuses database
    # calls unless told it is safe: only these tests are told so.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        errors = []
        page.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )
        page.errors = errors
        yield page
        browser.close()
        # Inside Playwright's event loop Django's connections are a context of their own (the
        # test's factories opened one here): close it, or it outlives the test database.
        connections.close_all()
