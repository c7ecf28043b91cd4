"""The wholesale pages: the public form and its guards, the one-time link, documents' access,
the queue, the review page's decisions, the conditions page, the dashboard and customer page."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer
from loyalty_admin.roles import ADMINISTRATOR, CUSTOMER_CARE, MARKETING, SALES
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory
from tests.wholesale.factories import PDF_BYTES, WholesaleApplicationFactory, png_bytes
from wholesale import services
from wholesale.models import ApplicationDocument, WholesaleApplication
from wholesale.selectors import get_conditions

pytestmark = pytest.mark.django_db

APPLY = reverse("wholesale_public:apply")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def form_data(**overrides):
    data = {
        "business_name": "Tạp hoá Minh Châu",
        "contact_name": "Lê Minh Châu",
        "phone": "0912 345 678",
        "email": "MinhChau@Example.com",
        "tax_id": "0314409058",
        "address": "7 Hai Bà Trưng",
        "city": "Huế",
        "business_type": "shop",
        "expected_monthly_value": "25000000",
        "consent": "on",
        "doc_licence": SimpleUploadedFile("giay-phep.pdf", PDF_BYTES),
    }
    return data | overrides


def test_the_public_page_needs_no_login_and_shows_the_conditions(client):
    conditions = get_conditions()
    conditions.payment_terms = "Cash on delivery"
    conditions.save()
    page = client.get(APPLY)
    assert page.status_code == 200
    assert "Cash on delivery" in page.content.decode()
    assert "Business registration licence" in page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()


def test_applying_with_a_document_ends_on_the_reference(client, mailoutbox):
    response = client.post(APPLY, form_data(), follow=True)
    application = WholesaleApplication.objects.get()
    assert response.redirect_chain[-1][0] == reverse("wholesale_public:done")
    assert application.reference in response.content.decode()
    assert (application.phone, application.email) == ("+84912345678", "minhchau@example.com")
    assert application.documents.get().content_type == "application/pdf"
    assert application.reference in mailoutbox[0].body


def test_bad_fields_each_say_why_and_keep_what_was_typed(client):
    response = client.post(APPLY, form_data(tax_id="0314409059", phone="12", email="not-an-email"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "0314409059 is not a valid tax ID: its check digit does not match." in page
    assert "“12” is not a valid phone number." in page
    assert "Enter a valid email address." in page
    assert 'value="Tạp hoá Minh Châu"' in page
    assert 'value="0314409059"' in page
    assert not WholesaleApplication.objects.exists()


def test_a_renamed_file_is_refused_by_its_content(client):
    fake = SimpleUploadedFile("licence.pdf", b"GIF89a not a pdf at all")
    response = client.post(APPLY, form_data(doc_licence=fake))
    assert "licence.pdf is not a PDF, JPEG or PNG file" in response.content.decode()
    assert not WholesaleApplication.objects.exists()


def test_the_required_document_is_required(client):
    data = form_data()
    del data["doc_licence"]
    response = client.post(APPLY, data)
    assert response.status_code == 200
    assert not WholesaleApplication.objects.exists()


def test_the_honeypot_answers_like_success_and_stores_nothing(client, mailoutbox):
    response = client.post(APPLY, form_data(website="http://spam.example"))
    assert response.status_code == 302
    assert not WholesaleApplication.objects.exists()
    assert mailoutbox == []


def test_one_address_is_limited_per_hour(client, settings):
    settings.WHOLESALE_APPLY_PER_IP_PER_HOUR = 2
    for _n in range(2):
        client.post(APPLY, form_data(tax_id="bad"))
    response = client.post(APPLY, form_data())
    assert response.status_code == 429
    assert "Too many applications were sent from this connection" in response.content.decode()
    assert not WholesaleApplication.objects.exists()


def test_one_phone_is_limited_per_day(client, settings):
    settings.WHOLESALE_APPLY_PER_PHONE_PER_DAY = 1
    client.post(APPLY, form_data())
    response = client.post(APPLY, form_data(email="x@example.com", tax_id="0100109106"))
    assert response.status_code == 429
    assert "This mobile number was used for too many applications today." in (
        response.content.decode()
    )


def test_applying_again_while_pending_shows_the_existing_reference(client):
    client.post(APPLY, form_data())
    first = WholesaleApplication.objects.get()
    response = client.post(APPLY, form_data())
    assert first.reference in response.content.decode()
    assert WholesaleApplication.objects.count() == 1


def test_the_one_time_link_page_takes_corrections_once(client, mailoutbox):
    application = WholesaleApplicationFactory()
    services.request_info(
        application=application, actor=make_staff(SALES), needed="The tax certificate."
    )
    url = (
        "/wholesale/apply/more/" + mailoutbox[-1].body.split("/wholesale/apply/more/")[1].split()[0]
    )
    page = client.get(url)
    assert "The tax certificate." in page.content.decode()
    data = {
        field: getattr(application, field)
        for field in ("business_name", "contact_name", "phone", "email", "tax_id", "address")
    } | {
        "city": "Huế",
        "business_type": "shop",
        "expected_monthly_value": "20000000",
        "doc_tax": SimpleUploadedFile("cert.png", png_bytes()),
    }
    response = client.post(url, data)
    assert "back in review" in response.content.decode()
    application.refresh_from_db()
    assert application.status == "pending"
    assert application.documents.get().kind == "tax"
    again = client.get(url)
    assert again.status_code == 410
    assert "This link can no longer be used" in again.content.decode()


def document_of(application):
    document = ApplicationDocument(
        application=application,
        kind="licence",
        stored_name="x.pdf",
        original_name="licence.pdf",
        content_type="application/pdf",
        size=len(PDF_BYTES),
    )
    from django.core.files.base import ContentFile

    document.file.save("x.pdf", ContentFile(PDF_BYTES), save=False)
    document.save()
    return document


def test_documents_are_served_inline_to_permitted_staff_only(client, settings):
    document = document_of(WholesaleApplicationFactory())
    url = reverse("wholesale:document", args=[document.pk])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("login"))
    nobody = get_user_model().objects.create_user(username="no-role", password="pw-12345")
    client.force_login(nobody)
    assert client.get(url).status_code == 403
    client.force_login(make_staff(CUSTOMER_CARE))
    shown = client.get(url)
    assert shown.status_code == 200
    assert shown["Content-Type"] == "application/pdf"
    assert shown["Content-Disposition"].startswith("inline")
    assert b"".join(shown.streaming_content) == PDF_BYTES
    # The file is not reachable under MEDIA_URL.
    assert client.get("/" + settings.MEDIA_URL + document.file.name).status_code == 404


def test_the_queue_tabs_count_each_status(staff_client):
    WholesaleApplicationFactory.create_batch(2)
    WholesaleApplicationFactory(status="rejected")
    WholesaleApplicationFactory(status="needs_info")
    page = staff_client(MARKETING).get(reverse("wholesale:list")).content.decode()
    assert 'data-testid="count-pending">2<' in page
    assert 'data-testid="count-rejected">1<' in page
    assert 'data-testid="count-needs_info">1<' in page
    assert 'data-testid="count-all">4<' in page
    assert "Assign to me" not in page  # Marketing views, does not decide


def test_the_tab_counts_stop_at_the_lists_cap(staff_client, settings):
    settings.LIST_COUNT_CAP = 2
    WholesaleApplicationFactory.create_batch(3)
    WholesaleApplicationFactory(status="rejected")
    page = staff_client(SALES).get(reverse("wholesale:list")).content.decode()
    assert 'data-testid="count-pending">2+<' in page
    assert 'data-testid="count-rejected">1<' in page
    assert 'data-testid="count-all">3+<' in page


@pytest.mark.parametrize(
    "query",
    ["Hoa Mai", "hoa mai", "0987 654 321", "84987654321", "0100109106", "WSHOAMAI1", "mai@"],
)
def test_the_queue_searches_name_phone_tax_id_reference_and_email(staff_client, query):
    wanted = WholesaleApplicationFactory(
        business_name="Cửa hàng Hoa Mai",
        phone="+84987654321",
        tax_id="0100109106",
        reference="WSHOAMAI1",
        email="mai@example.com",
    )
    WholesaleApplicationFactory.create_batch(2)
    page = staff_client(SALES).get(reverse("wholesale:list"), {"q": query}).content.decode()
    assert wanted.reference in page
    assert page.count('href="/wholesale/') - page.count("/wholesale/new/") >= 1
    others = WholesaleApplication.objects.exclude(pk=wanted.pk)
    assert all(other.reference not in page for other in others)


def test_the_queue_filters_by_city_reviewer_and_age(staff_client):
    client = staff_client(SALES)
    me = get_user_model().objects.get(username__isnull=False, groups__name=SALES)
    mine = WholesaleApplicationFactory(city="Huế", reviewer=me)
    old = WholesaleApplicationFactory(city="Hà Nội")
    WholesaleApplication.objects.filter(pk=old.pk).update(submitted_at="2020-01-01T00:00Z")
    url = reverse("wholesale:list")
    assert mine.reference in client.get(url, {"city": "huế"}).content.decode()
    assert old.reference not in client.get(url, {"city": "huế"}).content.decode()
    assert old.reference not in client.get(url, {"reviewer": "me"}).content.decode()
    overdue = client.get(url, {"age": "overdue"}).content.decode()
    assert old.reference in overdue and mine.reference not in overdue
    assert 'data-testid="age-overdue"' in overdue


def test_the_submitted_dates_are_whole_local_days(staff_client, settings):
    settings.TIME_ZONE = "Asia/Ho_Chi_Minh"  # UTC+7: 20:00 UTC on the 1st is the 2nd there
    client = staff_client(SALES)
    late = WholesaleApplicationFactory()
    early = WholesaleApplicationFactory()
    WholesaleApplication.objects.filter(pk=late.pk).update(submitted_at="2026-03-01T20:00Z")
    WholesaleApplication.objects.filter(pk=early.pk).update(submitted_at="2026-03-01T16:00Z")
    url = reverse("wholesale:list")
    second = client.get(url, {"submitted_from": "2026-03-02", "submitted_to": "2026-03-02"})
    first = client.get(url, {"submitted_from": "2026-03-01", "submitted_to": "2026-03-01"})
    assert late.reference in second.content.decode()
    assert early.reference not in second.content.decode()
    assert early.reference in first.content.decode()
    assert late.reference not in first.content.decode()


def test_the_queue_costs_the_same_for_50_rows_as_for_5(staff_client, django_assert_num_queries):
    client = staff_client(SALES)
    WholesaleApplicationFactory.create_batch(5)
    client.get(reverse("wholesale:list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("wholesale:list"))
    WholesaleApplicationFactory.create_batch(45, reviewer=make_staff(SALES, username="r2"))
    with django_assert_num_queries(len(few)):
        client.get(reverse("wholesale:list"))


def test_approving_from_the_review_page(staff_client, mailoutbox):
    application = WholesaleApplicationFactory()
    client = staff_client(SALES)
    page = client.get(application.get_absolute_url()).content.decode()
    assert 'data-testid="checklist"' in page
    response = client.post(reverse("wholesale:approve", args=[application.pk]), {"reason": ""})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "approved"
    assert application.customer.customer_type == "wholesale"
    again = client.post(reverse("wholesale:approve", args=[application.pk]), follow=True)
    assert "was already approved by" in again.content.decode()


def test_rejecting_without_a_reason_keeps_the_page_with_the_error(staff_client):
    application = WholesaleApplicationFactory()
    response = staff_client(SALES).post(reverse("wholesale:reject", args=[application.pk]), {})
    assert response.status_code == 400
    assert "Choose a reason or write one." in response.content.decode()
    application.refresh_from_db()
    assert application.status == "pending"


def test_a_reason_template_rejects(staff_client, mailoutbox):
    application = WholesaleApplicationFactory()
    reason = get_conditions().reject_reasons[0]
    staff_client(SALES).post(
        reverse("wholesale:reject", args=[application.pk]), {"template": reason}
    )
    application.refresh_from_db()
    assert (application.status, application.reason) == ("rejected", reason)


def test_bulk_reject_needs_one_reason_for_all(staff_client):
    applications = WholesaleApplicationFactory.create_batch(3)
    client = staff_client(SALES)
    ids = [a.pk for a in applications[:2]]
    refused = client.post(reverse("wholesale:bulk"), {"action": "reject", "ids": ids}, follow=True)
    assert "Give the reason the applicants will read." in refused.content.decode()
    client.post(
        reverse("wholesale:bulk"), {"action": "reject", "ids": ids, "reason": "Area not served."}
    )
    statuses = sorted(WholesaleApplication.objects.values_list("status", flat=True))
    assert statuses == ["pending", "rejected", "rejected"]


def test_staff_create_a_wholesale_customer_by_hand(staff_client):
    data = form_data()
    del data["consent"]
    response = staff_client(SALES).post(reverse("wholesale:create"), data)
    application = WholesaleApplication.objects.get()
    assert response.url == application.get_absolute_url()
    assert (application.source, application.status) == ("staff", "approved")
    assert Customer.objects.get().customer_type == "wholesale"


def test_revoking_from_the_customer_page(staff_client):
    client = staff_client(SALES)
    application = WholesaleApplicationFactory()
    services.approve(application=application, actor=None)
    customer = Customer.objects.get()
    page = client.get(customer.get_absolute_url()).content.decode()
    assert application.reference in page and "Revoke wholesale terms" in page
    client.post(reverse("wholesale:revoke", args=[customer.pk]), {"reason": "Closed the shop."})
    customer.refresh_from_db()
    assert customer.customer_type == "retail"


def test_only_administrators_edit_the_conditions_and_changes_are_listed(staff_client):
    assert staff_client(SALES).get(reverse("wholesale:conditions")).status_code == 403
    client = staff_client(ADMINISTRATOR)
    data = {
        "min_first_order_value": "3000000",
        "min_first_order_quantity": "20",
        "required_documents": ["licence", "tax"],
        "discount_percent": "12.5",
        "price_list": "Wholesale 2027",
        "payment_terms": "30 days",
        "sla_hours": "24",
        "reapply_days": "14",
        "reject_reasons": "Too far\n\nNo licence\n",
        "auto_approve": "on",
    }
    response = client.post(reverse("wholesale:conditions"), data, follow=True)
    conditions = get_conditions()
    assert conditions.reject_reasons == ["Too far", "No licence"]
    assert conditions.required_documents == ["licence", "tax"]
    assert conditions.discount_percent == Decimal("12.5") and conditions.auto_approve
    assert "answer within (hours): 48 → 24" in response.content.decode()
    bad = client.post(reverse("wholesale:conditions"), data | {"sla_hours": "0"})
    assert "Give at least one hour." in bad.content.decode()
    assert get_conditions().sla_hours == 24


def test_the_dashboard_shows_pending_and_the_oldest_wait(staff_client):
    old = WholesaleApplicationFactory()
    WholesaleApplication.objects.filter(pk=old.pk).update(submitted_at="2020-01-01T00:00Z")
    WholesaleApplicationFactory()
    page = staff_client(SALES).get(reverse("dashboard")).content.decode()
    assert 'data-testid="wholesale-pending">2<' in page
    assert "oldest waiting" in page and "text-danger" in page


def test_the_filter_criterion_finds_customers_by_their_latest_application(staff_client):
    pending_customer = CustomerFactory(first_name="Pending")
    rejected_then_pending = CustomerFactory(first_name="Again")
    rejected = CustomerFactory(first_name="Rejected")
    nobody = CustomerFactory(first_name="Nobody")
    WholesaleApplicationFactory(customer=pending_customer)
    first = WholesaleApplicationFactory(customer=rejected_then_pending, status="rejected")
    WholesaleApplication.objects.filter(pk=first.pk).update(submitted_at="2026-01-01T00:00Z")
    WholesaleApplicationFactory(customer=rejected_then_pending)
    WholesaleApplicationFactory(customer=rejected, status="rejected")
    from customers.selectors import customers_matching

    def names(query):
        return sorted(customers_matching(query).values_list("first_name", flat=True))

    assert names("wholesale_status=pending") == ["Again", "Pending"]
    assert names("wholesale_status=rejected") == ["Rejected"]
    assert names("wholesale_status=none") == ["Nobody"]
    assert names("wholesale_status=none&wholesale_status=rejected") == ["Nobody", "Rejected"]
    page = staff_client(SALES).get(reverse("customers:list"), {"wholesale_status": "pending"})
    assert "Wholesale application" in page.content.decode()
    assert nobody.member_number not in page.content.decode()
