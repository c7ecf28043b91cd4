"""The audience flow in a real browser: filter the customer list, save it as an audience, see
its count and chart, add to a static audience from the bulk bar, export it and read the file."""

import openpyxl
from playwright.sync_api import expect

from audiences.models import Audience
from tests.customers.factories import CustomerFactory, RankFactory
from tests.e2e.browser import BROWSER_TESTS, sign_in

pytestmark = BROWSER_TESTS


def test_filter_save_as_audience_see_it_and_export_it(page, live_server, tmp_path):
    gold = RankFactory(name="Gold", is_default=True)
    for name in ("Hà", "Hải"):
        CustomerFactory(first_name=name, last_name="Lê", city="Huế", rank=gold)
    CustomerFactory(first_name="Lâm", city="Vinh", rank=gold)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/customers/?city=Hu%E1%BA%BF")
    expect(page.get_by_test_id("result-count")).to_have_text("2 customers")
    page.get_by_role("button", name="Saved views").click()
    page.fill("#id_audience_name", "Huế members")
    page.get_by_role("button", name="Save as audience").click()

    expect(page.get_by_role("heading", name="Huế members")).to_be_visible()
    expect(page.get_by_text("Audience “Huế members” saved.")).to_be_visible()
    expect(page.get_by_test_id("audience-size")).to_have_text("2")
    expect(page.get_by_test_id("rule-words")).to_contain_text("City: Huế")
    chart = page.locator("canvas[data-chart-source=audience-ranks]")
    expect(chart).to_have_attribute("data-ready", "1")  # Chart.js drew it
    page.fill("#id_who", "zzz-nobody")
    page.get_by_role("button", name="Explain").click()
    expect(page.get_by_text("No customer has this member number")).to_be_visible()

    page.get_by_role("button", name="Export…").click()
    with page.expect_download() as download_info:
        page.click("form button[type=submit]:has-text('Export')")
    path = tmp_path / "audience.xlsx"
    download_info.value.save_as(path)
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert sorted(row[2] for row in rows[1:]) == ["Hà", "Hải"]

    page.goto(f"{live_server.url}{Audience.objects.get().get_absolute_url()}")
    page.click("text=Open in the customer list")
    expect(page.get_by_test_id("result-count")).to_have_text("2 customers")
    assert page.errors == []


def test_add_ticked_rows_to_a_static_audience(page, live_server):
    static = Audience.objects.create(name="Hand-picked", name_key="hand-picked", kind="static")
    CustomerFactory(first_name="Lâm", city="Vinh")
    CustomerFactory(first_name="Mai", city="Vinh")
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/customers/?city=Vinh")
    page.select_option("select[name=scope]", "all")
    picker = page.locator(".bulk-audience .ts-control input")
    picker.click()
    picker.fill("hand")
    page.locator(".ts-dropdown .option", has_text="Hand-picked").click()
    page.get_by_role("button", name="Add to audience…").click()
    expect(page.get_by_test_id("bulk-audience-question")).to_have_text(
        "Add 2 customers to “Hand-picked”?"
    )
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("2 customers added to “Hand-picked”.")).to_be_visible()
    assert static.members.count() == 2
    assert page.errors == []
