"""Wholesale in a real browser: a business applies on the public page with a document, Sales
approves it on the review page, and the customer is wholesale with the tag and the timeline
entry."""

from playwright.sync_api import expect

from customers.models import Customer
from loyalty_admin.roles import SALES
from tests.e2e.browser import BROWSER_TESTS, sign_in
from tests.wholesale.factories import PDF_BYTES
from wholesale.models import WholesaleApplication

pytestmark = BROWSER_TESTS


def test_apply_publicly_then_sales_approves(page, live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    page.goto(f"{live_server.url}/wholesale/apply/")
    expect(page.get_by_test_id("conditions")).to_contain_text("Business registration licence")
    page.fill("#id_business_name", "Tạp hoá Minh Châu")
    page.select_option("#id_business_type", "shop")
    page.fill("#id_tax_id", "0314409058")
    page.fill("#id_expected_monthly_value", "25000000")
    page.fill("#id_address", "7 Hai Bà Trưng")
    page.fill("#id_city", "Huế")
    page.fill("#id_contact_name", "Lê Minh Châu")
    page.fill("#id_phone", "0912 345 678")
    page.fill("#id_email", "minhchau@example.com")
    page.set_input_files(
        "#id_doc_licence",
        files=[{"name": "giay-phep.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}],
    )
    page.check("#id_consent")
    page.get_by_role("button", name="Send application").click()
    reference = WholesaleApplication.objects.get().reference
    expect(page.get_by_test_id("reference")).to_have_text(reference)

    page.context.clear_cookies()
    sign_in(page, live_server, SALES)
    expect(page.get_by_test_id("wholesale-pending")).to_have_text("1")
    page.get_by_test_id("wholesale-pending").click()
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_test_id("checklist")).to_contain_text("Tax ID valid")
    expect(page.get_by_test_id("documents")).to_contain_text("giay-phep.pdf")
    page.get_by_test_id("approve").click()
    expect(page.get_by_text("is now a wholesale customer")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Approved")

    page.get_by_test_id("open-customer").click()
    customer = Customer.objects.get()
    assert customer.customer_type == "wholesale"
    expect(page.get_by_test_id("wholesale")).to_contain_text(reference)
    expect(page.locator("main")).to_contain_text("Wholesale")
    page.get_by_role("tab", name="Timeline").click()
    expect(page.locator("#tab-timeline")).to_contain_text(
        f"Wholesale application {reference} approved"
    )
    assert customer.tags.get().name == "Wholesale"
    assert page.errors == []
