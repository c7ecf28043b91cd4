"""Real-browser tests: headless Debian Chromium driven by Playwright against live_server."""

import openpyxl
from playwright.sync_api import expect

from tests.customers.factories import (
    CustomerFactory,
    CustomerTagFactory,
    OrderFactory,
    RankFactory,
    TagFactory,
)
from tests.e2e.browser import BROWSER_TESTS, sign_in

pytestmark = BROWSER_TESTS


def test_filter_open_create_and_export(page, live_server, tmp_path):
    RankFactory(name="Gold", is_default=True)
    CustomerFactory(first_name="Đức", last_name="Nguyễn", email="duc@example.vn")
    CustomerFactory(first_name="Olivia", last_name="Smith", email="olivia@example.com")
    sign_in(page, live_server)

    page.click("text=Customers")
    page.fill("#id_q", "nguyen duc")  # live filtering through htmx, accent-insensitive
    expect(page.get_by_test_id("result-count")).to_have_text("1 customer")
    assert page.url.endswith("/customers/?q=nguyen%20duc")  # only the non-empty fields
    page.click("text=Nguyễn Đức >> xpath=../td[2]/a")
    expect(page.get_by_role("heading", name="Nguyễn Đức")).to_be_visible()

    page.goto(f"{live_server.url}/customers/new/")
    page.fill("#id_last_name", "Trần")
    page.fill("#id_first_name", "Mai")
    page.fill("#id_phone", "0912 345 678")
    page.click("button:has-text('Save')")
    expect(page.get_by_text("Customer Trần Mai was created.")).to_be_visible()
    expect(page.get_by_text("+84 912 345 678")).to_be_visible()  # stored E.164, shown formatted

    page.goto(f"{live_server.url}/customers/?q=smith")
    expect(page.get_by_test_id("result-count")).to_have_text("1 customer")
    page.select_option("select[name=scope]", "all")
    page.click("button:has-text('Export')")
    with page.expect_download() as download_info:
        page.click("form button[type=submit]:has-text('Export')")
    path = tmp_path / "export.xlsx"
    download_info.value.save_as(path)
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[1][1:3] == ("Smith", "Olivia")
    assert len(rows) == 2
    assert page.errors == []


def test_tablet_width_keeps_the_list_usable(page, live_server):
    CustomerFactory(first_name="Lan", last_name="Phạm")
    sign_in(page, live_server)
    page.set_viewport_size({"width": 800, "height": 1000})
    page.goto(f"{live_server.url}/customers/")
    expect(page.get_by_test_id("result-count")).to_have_text("1 customer")
    # The sidebar collapses behind a toggle; the table scrolls inside its own box, not the page.
    expect(page.locator("#sidebar")).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(page.locator("#sidebar").get_by_role("link", name="Customers")).to_be_visible()
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 800
    assert page.errors == []


def test_tag_picker_loads_options_as_you_type_and_filters(page, live_server):
    vip = TagFactory(name="VIP")
    TagFactory(name="Lapsed")
    CustomerTagFactory(customer=CustomerFactory(first_name="Hồng"), tag=vip)
    CustomerFactory(first_name="Tuấn")
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/customers/")
    page.locator("#more-filters summary", has_text="Tags").click()
    picker = page.locator("#id_tags_any-ts-control")
    picker.click()
    picker.fill("vi")
    page.locator(".ts-dropdown .option", has_text="VIP").click()
    expect(page.get_by_test_id("result-count")).to_have_text("1 customer")
    assert f"tags_any={vip.pk}" in page.url
    assert page.errors == []


def test_edit_a_threshold_preview_the_impact_and_save(page, live_server):
    from ranks.models import RankPolicy

    policy = RankPolicy.current()
    policy.basis, policy.window, policy.downgrade = "spend", "lifetime", "at_evaluation"
    policy.save()
    RankFactory(name="Member", code="member", level=1, threshold=0, is_default=True)
    silver = RankFactory(name="Silver", code="silver", level=2, threshold=1000)
    customer = CustomerFactory(first_name="Vy", rank=silver)
    OrderFactory(customer=customer, total=1200)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/ranks/")
    page.get_by_role("link", name="Edit Silver").click()
    page.fill("#id_threshold", "1500")
    page.get_by_role("button", name="Preview impact").click()
    expect(page.get_by_test_id("impact-summary")).to_contain_text(
        "0 members would move up and 1 down."
    )
    expect(page.locator("#impact canvas[data-ready='1']")).to_have_count(1)  # the chart drew
    page.get_by_role("button", name="Save and apply").click()
    expect(page.get_by_text("0 members moved up and 1 down, as previewed.")).to_be_visible()
    customer.refresh_from_db()
    assert customer.rank.code == "member"
    assert page.errors == []


def test_add_and_remove_a_tag_on_the_customer_page(page, live_server):
    TagFactory(name="VIP")
    customer = CustomerFactory(first_name="Thu")
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    picker = page.locator("#customer-tags .ts-control input")
    picker.click()
    picker.fill("vi")
    page.locator(".ts-dropdown .option", has_text="VIP").click()
    page.locator("#customer-tags").get_by_role("button", name="Add").click()
    expect(page.get_by_role("button", name="Remove VIP")).to_be_visible()
    page.get_by_role("button", name="Remove VIP").click()
    expect(page.get_by_role("button", name="Remove VIP")).to_have_count(0)
    assert not customer.tag_links.exists()
    assert page.errors == []


def test_bulk_tag_a_filtered_list(page, live_server):
    vip = TagFactory(name="VIP")
    for name in ("Hà", "Hải"):
        CustomerFactory(first_name=name, city="Huế")
    CustomerFactory(first_name="Lâm", city="Vinh")
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/customers/?city=Hu%E1%BA%BF")
    expect(page.get_by_test_id("result-count")).to_have_text("2 customers")
    page.select_option("select[name=scope]", "all")
    picker = page.locator(".bulk-tags .ts-control input")
    picker.click()
    picker.fill("vi")
    page.locator(".ts-dropdown .option", has_text="VIP").click()
    page.get_by_role("button", name="Tag…", exact=True).click()
    expect(page.get_by_test_id("bulk-tags-question")).to_have_text("Add these tags to 2 customers?")
    page.get_by_role("button", name="Add tags").click()
    expect(page.get_by_text("Added VIP: 2 new assignments")).to_be_visible()
    assert sorted(vip.customer_links.values_list("customer__city", flat=True)) == ["Huế", "Huế"]
    assert page.errors == []


def test_import_wizard_upload_map_dry_run_run_report_undo(page, live_server, tmp_path, settings):
    from customers.models import Customer
    from tests.migration.conftest import csv_bytes

    settings.MEDIA_ROOT = tmp_path / "media"
    CustomerFactory(old_member_id="OLD-1", city="Huế", first_name="Lan", last_name="Phạm")
    source = tmp_path / "legacy.csv"
    source.write_bytes(
        csv_bytes(
            [
                ["Mã thành viên cũ", "Họ tên", "Số điện thoại", "Thành phố"],
                ["OLD-1", "Phạm Lan", "0912345678", "Đà Nẵng"],
                ["OLD-2", "Võ Minh", "0912345679", "Vinh"],
                ["OLD-3", "Hồ Thu", "12", "Vinh"],
            ],
            encoding="utf-8-sig",
        )
    )
    sign_in(page, live_server)
    page.click("text=Migration")
    page.click("text=New import")
    page.set_input_files("#id_file", str(source))
    page.click("text=Upload and map columns")
    expect(page.get_by_role("heading", name="Map columns")).to_be_visible()
    expect(page.get_by_label("Họ tên")).to_have_value("full_name")  # suggested from the header
    page.get_by_label("Skip invalid rows").check()
    page.click("text=Start the dry run")

    expect(page.get_by_test_id("import-status")).to_have_text("Done")
    expect(page.get_by_test_id("count-created")).to_have_text("1")
    expect(page.get_by_test_id("count-updated")).to_have_text("1")
    expect(page.get_by_test_id("count-failed")).to_have_text("1")
    expect(page.get_by_test_id("import-preview")).to_contain_text("is not a valid phone number")
    assert Customer.objects.count() == 1  # the dry run wrote nothing
    with page.expect_download() as download:
        page.click("text=Download the problems (.xlsx)")
    download.value.save_as(tmp_path / "problems.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "problems.xlsx").active
    row, column, message, *original = (cell.value for cell in sheet[2])
    assert (row, column, original[:2]) == (4, "Số điện thoại", ["OLD-3", "Hồ Thu"])
    assert "not a valid phone number" in message

    page.get_by_test_id("run-import").click()
    expect(page.get_by_test_id("import-status")).to_have_text("Done")
    expect(page.get_by_test_id("count-created")).to_have_text("1")
    assert Customer.objects.get(old_member_id="OLD-1").city == "Đà Nẵng"

    page.get_by_test_id("undo-import").click()
    page.get_by_test_id("confirm-undo").click()
    expect(page.get_by_test_id("import-status")).to_have_text("Undone")
    assert Customer.objects.get().city == "Huế"
    page.click("text=Migration")
    expect(page.locator("table")).to_contain_text("legacy.csv")
    assert not page.errors


def test_an_invalid_preview_shows_its_errors_where_the_preview_goes(page, live_server):
    RankFactory(name="Member", code="member", level=1, threshold=0, is_default=True)
    RankFactory(name="Silver", code="silver", level=2, threshold=1000)
    RankFactory(name="Gold", code="gold", level=3, threshold=5000)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/ranks/")
    page.get_by_role("link", name="Edit Silver").click()
    page.fill("#id_threshold", "9000")  # above Gold's: the ladder would not rise
    page.get_by_role("button", name="Preview impact").click()
    errors = page.get_by_test_id("preview-errors")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text("The change cannot be previewed")
    expect(page.locator("#rank-form")).to_have_count(1)  # the form is still there, as typed
    expect(page.locator("#id_threshold")).to_have_value("9000")


def test_the_tag_picker_offers_only_manual_tags(page, live_server):
    TagFactory(name="Austin fans")
    TagFactory(name="Auto loyal", kind="automatic", rule="orders_min=5")
    customer = CustomerFactory(first_name="Thu")
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    picker = page.locator("#customer-tags .ts-control input")
    picker.click()
    picker.fill("au")
    expect(page.locator(".ts-dropdown .option", has_text="Austin fans")).to_be_visible()
    expect(page.locator(".ts-dropdown .option", has_text="Auto loyal")).to_have_count(0)


def test_a_refused_htmx_action_is_said_on_the_page(page, live_server):
    customer = CustomerFactory(first_name="Thu")
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    # The customer is deleted meanwhile: adding a tag now answers 404.
    TagFactory(name="VIP")
    picker = page.locator("#customer-tags .ts-control input")
    picker.click()
    picker.fill("vi")
    page.locator(".ts-dropdown .option", has_text="VIP").click()
    customer.delete()
    page.locator("#customer-tags").get_by_role("button", name="Add").click()
    expect(page.locator("#messages .alert-danger")).to_contain_text("That no longer exists")


def test_ticking_the_page_offers_every_matching_customer(page, live_server):
    for n in range(55):
        CustomerFactory(first_name=f"Khách {n}", city="Huế")
    sign_in(page, live_server)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/customers/")
    offer = page.locator("[data-select-matching]")
    expect(offer).to_be_hidden()
    page.get_by_label("Select all on this page").check()
    expect(offer).to_be_visible()
    page.get_by_role("button", name="Select all matching: 55 customers").click()
    expect(offer).to_contain_text("All matching customers are selected: 55 customers.")
    expect(page.locator("#bulk-form select[name=scope]")).to_have_value("all")
    # The default columns fit beside the filter panel at 1440 px.
    fits = page.evaluate(
        "(() => { const t = document.querySelector('.customer-table');"
        " return t.scrollWidth <= t.parentElement.clientWidth; })()"
    )
    assert fits
