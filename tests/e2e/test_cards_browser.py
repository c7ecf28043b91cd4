"""Tourist cards in a real browser: a clerk activates a card with the keyboard alone (scan,
tab through, Enter), lands on "Activate the next card", and the tourist is then found in the
customer list by nationality."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from cards import services
from cards.models import CardStatus, TouristCard
from loyalty_admin.roles import CUSTOMER_CARE
from tests.customers.factories import CustomerFactory
from tests.e2e.browser import BROWSER_TESTS, sign_in

pytestmark = BROWSER_TESTS


def focused(page) -> str:
    return page.evaluate("document.activeElement.name || document.activeElement.id")


def tab_to(page, name: str, most: int = 6) -> None:
    """Press Tab until the field `name` has the focus (a date input takes one Tab per part)."""
    for _press in range(most):
        if focused(page) == name:
            return
        page.keyboard.press("Tab")
    assert focused(page) == name, f"Tab never reached {name}"


def type_date(page, day) -> None:
    """A date as the counter form takes it: DD/MM/YYYY, typed."""
    page.keyboard.type(day.strftime("%d/%m/%Y"), delay=20)


def test_activate_with_the_keyboard_then_find_the_tourist_by_nationality(page, live_server):
    batch = services.generate_batch(
        name="Counter", prefix="9760", size=2, validity_days=30, store=None, actor=None
    )
    number = batch.cards.order_by("number").first().number
    today = timezone.localdate()
    sign_in(page, live_server, CUSTOMER_CARE)
    page.goto(f"{live_server.url}/cards/activate/")

    assert focused(page) == "number"  # the scanner types into the focused field
    page.keyboard.type(number, delay=20)
    page.keyboard.press("Tab")
    assert focused(page) == "passport_number"
    page.keyboard.type("TR1234567", delay=20)
    page.keyboard.press("Tab")
    assert focused(page) == "nationality"
    page.keyboard.type("Japan", delay=20)  # the select's type-ahead
    expect(page.locator("#id_nationality")).to_have_value("JP")
    tab_to(page, "full_name")
    page.keyboard.type("TANAKA Hana", delay=20)
    expect(page.locator("#id_full_name")).to_have_value("TANAKA Hana")
    tab_to(page, "arrival")
    type_date(page, today - timedelta(days=1))
    tab_to(page, "departure")
    type_date(page, today + timedelta(days=6))
    page.keyboard.press("Enter")

    expect(page.get_by_test_id("activated")).to_contain_text("TANAKA Hana")
    expect(page.get_by_test_id("activated")).to_contain_text("Japan")
    assert page.evaluate("document.activeElement.dataset.testid") == "next-card"
    card = TouristCard.objects.get(number=number)
    assert card.status == CardStatus.ACTIVE and card.nationality == "JP"
    assert card.valid_until == today + timedelta(days=36)

    CustomerFactory(first_name="Resident")
    page.goto(f"{live_server.url}/customers/")
    expect(page.get_by_test_id("result-count")).to_have_text("2 customers")
    page.locator("#more-filters summary", has_text="Membership").click()
    picker = page.locator("#id_nationality-ts-control")
    picker.click()
    picker.fill("Japan")
    page.locator(".ts-dropdown .option", has_text="Japan").first.click()
    expect(page.get_by_test_id("result-count")).to_have_text("1 customer")
    expect(page).to_have_url(re.compile(r"nationality=JP"))
    expect(page.locator("main")).to_contain_text("TANAKA Hana")
    expect(page.locator("main")).not_to_contain_text("Resident")
    assert page.errors == []
