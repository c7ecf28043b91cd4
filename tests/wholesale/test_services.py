"""The workflow's services: each transition, its email, its history and timeline entries."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction
from django.utils import timezone

from customers.models import Customer, CustomerEvent
from loyalty_admin.roles import SALES
from tags.models import CustomerTag
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory, TagFactory
from tests.wholesale.factories import (
    JPEG_BYTES,
    WholesaleApplicationFactory,
    pdf_upload,
    png_bytes,
    valid_tax_id,
)
from wholesale import services
from wholesale.documents import check_upload
from wholesale.models import ApplicationEvent, Status, WholesaleApplication
from wholesale.selectors import checklist, get_conditions, matching_customers

pytestmark = pytest.mark.django_db


def application_data(n=1, **overrides):
    data = {
        "business_name": f"Đại lý Hoa Sen {n}",
        "contact_name": "Nguyễn Văn Bình",
        "phone": f"+8490{n:07d}",
        "email": f"hoasen{n}@example.com",
        "tax_id": valid_tax_id(n),
        "address": "5 Trần Phú",
        "city": "Đà Nẵng",
        "business_type": "distributor",
        "expected_monthly_value": Decimal(30_000_000),
        "message": "",
        "consent": True,
    }
    return data | overrides


@pytest.fixture
def sales():
    return make_staff(SALES)


def test_submitting_stores_the_application_and_emails_the_reference(mailoutbox):
    application = services.submit_application(data=application_data(), files=[])
    assert application.status == Status.PENDING
    assert application.reference.startswith("WS") and len(application.reference) == 10
    assert [m.to for m in mailoutbox] == [["hoasen1@example.com"]]
    assert application.reference in mailoutbox[0].subject
    assert application.reference in mailoutbox[0].body
    kinds = list(application.events.values_list("kind", flat=True))
    assert set(kinds) == {"submitted", "email_sent"}


def test_documents_are_stored_with_the_type_read_from_their_content(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    renamed_png = SimpleUploadedFile("scan.pdf", png_bytes(), content_type="application/pdf")
    application = services.submit_application(
        data=application_data(), files=[("licence", pdf_upload()), ("shop_photo", renamed_png)]
    )
    stored = {d.kind: d for d in application.documents.all()}
    assert stored["licence"].content_type == "application/pdf"
    assert stored["shop_photo"].content_type == "image/png"
    assert stored["shop_photo"].file.name.endswith(".png")  # named by content, not by the upload
    assert "scan" not in stored["shop_photo"].file.name
    assert stored["shop_photo"].original_name == "scan.pdf"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"MZ\x90\x00 an executable renamed to .pdf", "is not a PDF, JPEG or PNG file"),
        (b"%PDF-1.4 truncated without its end", "is not a PDF, JPEG or PNG file"),
        (b"", "is empty"),
    ],
)
def test_a_document_that_is_not_what_it_claims_is_refused(content, reason):
    upload = SimpleUploadedFile("licence.pdf", content, content_type="application/pdf")
    with pytest.raises(ValidationError, match=reason):
        check_upload(upload)


def test_a_jpeg_is_recognised():
    upload = SimpleUploadedFile("photo.bin", JPEG_BYTES)
    assert check_upload(upload).content_type == "image/jpeg"


def test_a_document_over_the_size_cap_is_refused(settings):
    settings.WHOLESALE_DOCUMENT_MAX_MB = 1
    upload = SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (1024 * 1024) + b"%%EOF")
    with pytest.raises(ValidationError, match=r"big.pdf is 1.0 MB; a document may be at most 1 MB"):
        check_upload(upload)


def test_too_many_documents_write_nothing(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.WHOLESALE_DOCUMENT_MAX_COUNT = 1
    with pytest.raises(ValidationError, match="At most 1 documents per application"):
        services.submit_application(
            data=application_data(), files=[("licence", pdf_upload()), ("tax", pdf_upload())]
        )
    assert not WholesaleApplication.objects.exists()


def test_the_same_business_twice_while_pending_is_told_its_reference():
    first = services.submit_application(data=application_data(), files=[])
    again = application_data(email="other@example.com")  # same phone and tax ID
    with pytest.raises(services.DuplicateApplication) as caught:
        services.submit_application(data=again, files=[])
    assert caught.value.existing == first
    assert first.reference in caught.value.messages[0]
    assert WholesaleApplication.objects.count() == 1


def test_a_match_by_phone_links_the_existing_customer_at_once():
    customer = CustomerFactory(phone="+84900000001")
    application = services.submit_application(data=application_data(), files=[])
    assert application.customer == customer


def test_approving_creates_a_wholesale_customer_with_tag_timeline_and_email(sales, mailoutbox):
    application = WholesaleApplicationFactory()
    services.approve(application=application, actor=sales)
    application.refresh_from_db()
    customer = application.customer
    assert application.status == Status.APPROVED
    assert application.decided_by == sales
    assert customer.customer_type == Customer.CustomerType.WHOLESALE
    assert (customer.phone, customer.email) == (application.phone, application.email)
    link = CustomerTag.objects.get(customer=customer)
    assert (link.tag.name, link.source) == ("Wholesale", "wholesale")
    assert CustomerEvent.objects.filter(
        customer=customer, kind="wholesale", message__contains=application.reference
    ).exists()
    assert "approved" in mailoutbox[-1].subject
    assert "discount" in mailoutbox[-1].body
    event = application.events.get(kind="approved")
    assert (event.from_status, event.to_status, event.actor) == ("pending", "approved", sales)


def test_approving_upgrades_the_matching_customer_instead_of_duplicating(sales):
    customer = CustomerFactory(email="shop@example.com", customer_type="retail")
    application = WholesaleApplicationFactory(email="shop@example.com")
    assert [m.customer for m in matching_customers(application)] == [customer]
    services.approve(application=application, actor=sales)
    customer.refresh_from_db()
    assert customer.customer_type == "wholesale"
    assert Customer.objects.count() == 1


def test_a_tax_id_match_finds_the_customer_of_an_earlier_application(sales):
    customer = CustomerFactory()
    WholesaleApplicationFactory(tax_id="0314409058", customer=customer, status="revoked")
    application = WholesaleApplicationFactory(tax_id="0314409058")
    matches = matching_customers(application)
    assert [(m.customer, m.reasons) for m in matches] == [(customer, ["same tax ID"])]


def test_with_several_matches_the_reviewer_must_choose(sales):
    by_phone = CustomerFactory(phone="+84911111111")
    by_email = CustomerFactory(email="two@example.com")
    application = WholesaleApplicationFactory(phone="+84911111111", email="two@example.com")
    with pytest.raises(ValidationError, match="Several customers match"):
        services.approve(application=application, actor=sales)
    services.approve(application=application, actor=sales, customer_id=by_email.pk)
    by_email.refresh_from_db()
    by_phone.refresh_from_db()
    assert (by_email.customer_type, by_phone.customer_type) == ("wholesale", "retail")


def test_approving_runs_a_pinned_number_of_queries(sales, django_assert_max_num_queries):
    application = WholesaleApplicationFactory()
    get_conditions()
    TagFactory(name="Wholesale", slug="wholesale")
    # Lock and read, match (3), create the customer (with its checks), tag, decide, email.
    with django_assert_max_num_queries(32):
        services.approve(application=application, actor=sales)


def test_rejecting_needs_a_reason_and_emails_it(sales, mailoutbox):
    application = WholesaleApplicationFactory()
    with pytest.raises(ValidationError, match="Give the reason"):
        services.reject(application=application, actor=sales, reason="  ")
    services.reject(application=application, actor=sales, reason="Licence unreadable.")
    application.refresh_from_db()
    assert (application.status, application.reason) == ("rejected", "Licence unreadable.")
    assert "Licence unreadable." in mailoutbox[-1].body


def test_a_second_decision_is_refused_and_names_the_first(sales):
    application = WholesaleApplicationFactory()
    stale = WholesaleApplication.objects.get(pk=application.pk)
    services.reject(application=application, actor=sales, reason="No licence.")
    with pytest.raises(services.AlreadyDecided, match="was already rejected by"):
        services.approve(application=stale, actor=make_staff(SALES, username="other"))
    stale.refresh_from_db()
    assert stale.status == "rejected"
    assert not Customer.objects.exists()


def test_asking_for_information_sends_a_one_time_link_that_puts_it_back_to_pending(
    sales, mailoutbox, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    application = WholesaleApplicationFactory()
    services.request_info(application=application, actor=sales, needed="Your business licence.")
    application.refresh_from_db()
    assert application.status == "needs_info"
    body = mailoutbox[-1].body
    assert "Your business licence." in body
    token = body.split("/wholesale/apply/more/")[1].split("/")[0]
    assert services.application_for_token(token) == application
    services.provide_info(
        token=token,
        data={"city": "Hội An"},
        files=[("licence", pdf_upload())],
    )
    application.refresh_from_db()
    assert (application.status, application.city) == ("pending", "Hội An")
    assert application.documents.count() == 1
    event = application.events.get(kind="info_provided")
    assert (event.from_status, event.to_status) == ("needs_info", "pending")
    assert "Corrected: city." in event.reason
    assert services.application_for_token(token) is None  # used once
    with pytest.raises(ValidationError, match="already used or has expired"):
        services.provide_info(token=token, data={}, files=[])


def test_an_expired_link_opens_nothing(sales, mailoutbox, settings):
    application = WholesaleApplicationFactory()
    services.request_info(application=application, actor=sales, needed="Photo of the shop.")
    token = mailoutbox[-1].body.split("/wholesale/apply/more/")[1].split("/")[0]
    later = timezone.now() + timedelta(days=settings.WHOLESALE_INFO_LINK_DAYS, minutes=1)
    with time_machine.travel(later):
        assert services.application_for_token(token) is None


def test_reapplying_waits_the_configured_days_and_links_the_earlier_application(sales):
    conditions = get_conditions()
    conditions.reapply_days = 30
    conditions.save()
    with time_machine.travel("2026-10-01 10:00 +07:00", tick=False):
        first = services.submit_application(data=application_data(), files=[])
        services.reject(application=first, actor=sales, reason="Too small for now.")
    with (
        time_machine.travel("2026-10-20 10:00 +07:00", tick=False),
        pytest.raises(ValidationError, match=r"You may apply again from"),
    ):
        services.submit_application(data=application_data(), files=[])
    with time_machine.travel("2026-11-01 10:00 +07:00", tick=False):
        second = services.submit_application(data=application_data(), files=[])
    assert second.previous == first


def test_an_approved_business_cannot_apply_again(sales):
    first = services.submit_application(data=application_data(), files=[])
    services.approve(application=first, actor=sales)
    with pytest.raises(ValidationError, match="already a wholesale customer"):
        services.submit_application(data=application_data(), files=[])


def test_auto_approval_is_off_by_default_and_approves_when_every_condition_holds(
    settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    manual = services.submit_application(
        data=application_data(1), files=[("licence", pdf_upload())]
    )
    assert manual.status == "pending"
    conditions = get_conditions()
    conditions.auto_approve = True
    conditions.save()
    auto = services.submit_application(data=application_data(2), files=[("licence", pdf_upload())])
    assert auto.status == "approved"
    assert auto.decided_by is None
    assert auto.customer.customer_type == "wholesale"
    small = services.submit_application(
        data=application_data(3, expected_monthly_value=Decimal(1000)),
        files=[("licence", pdf_upload())],
    )
    assert small.status == "pending"  # below the minimum first order: a person decides


def test_the_checklist_says_what_passes_and_fails():
    application = WholesaleApplicationFactory(
        tax_id="0314409059", expected_monthly_value=Decimal(1)
    )
    items = {item.label: item for item in checklist(application, get_conditions())}
    assert not items["Required documents present"].passed
    assert items["Required documents present"].detail == "Missing: Business registration licence"
    assert not items["Tax ID valid"].passed
    assert not items["Expected monthly value at least the minimum first order"].passed
    assert items["Agreed to be contacted"].passed


def test_a_failed_email_leaves_the_decision_and_can_be_resent(sales, mailoutbox, monkeypatch):
    application = WholesaleApplicationFactory()

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(services, "send_mail", refuse)
    services.reject(application=application, actor=sales, reason="Outside our area.")
    application.refresh_from_db()
    assert application.status == "rejected"
    assert (application.email_failed, application.email_error) == (
        "rejected",
        "mail server down",
    )
    assert application.events.filter(kind="email_failed").exists()
    monkeypatch.undo()
    assert services.resend_email(application=application, actor=sales)
    application.refresh_from_db()
    assert application.email_failed == ""
    assert "Outside our area." in mailoutbox[-1].body


def test_revoking_returns_the_customer_to_retail_without_the_tag(sales):
    application = WholesaleApplicationFactory()
    services.approve(application=application, actor=sales)
    customer = Customer.objects.get()
    with pytest.raises(ValidationError, match="Give the reason"):
        services.revoke(customer=customer, actor=sales, reason="")
    services.revoke(customer=customer, actor=sales, reason="Stopped buying in bulk.")
    customer.refresh_from_db()
    application.refresh_from_db()
    assert customer.customer_type == "retail"
    assert not CustomerTag.objects.filter(customer=customer).exists()
    assert application.status == "revoked"
    assert application.events.filter(kind="revoked", reason="Stopped buying in bulk.").exists()
    assert CustomerEvent.objects.filter(
        customer=customer, kind="wholesale", message__startswith="Wholesale terms revoked"
    ).exists()


def test_manual_creation_is_an_application_approved_by_that_staff_member(sales):
    application = services.create_manual(data=application_data(), files=[], actor=sales)
    assert application.source == "staff"
    assert (application.status, application.decided_by) == ("approved", sales)
    assert application.customer.customer_type == "wholesale"


def test_bulk_decisions_report_what_was_already_decided(sales):
    open_one, decided = WholesaleApplicationFactory(), WholesaleApplicationFactory()
    services.reject(application=decided, actor=sales, reason="No.")
    done, problems = services.bulk_decide(
        ids=[open_one.pk, decided.pk], action="reject", reason="Not now.", actor=sales
    )
    assert done == 1
    assert problems == [f"{decided.reference}: " + problems[0].split(": ", 1)[1]]
    assert "already rejected" in problems[0]


def test_saving_the_conditions_records_who_changed_what(sales):
    admin = make_staff("superuser")
    services.save_conditions(data={"sla_hours": 24, "reapply_days": 30}, actor=admin)
    change = get_conditions().updated_by
    assert change == admin
    from wholesale.models import ConditionsChange

    recorded = ConditionsChange.objects.get()
    assert recorded.changes == {"answer within (hours)": ["48", "24"]}
    assert recorded.actor == admin


def test_events_record_every_transition_in_order(sales, mailoutbox):
    application = WholesaleApplicationFactory()
    services.assign(application=application, actor=sales)
    services.request_info(application=application, actor=sales, needed="Tax certificate.")
    services.reject(application=application, actor=sales, reason="No answer.")
    transitions = [
        (e.kind, e.from_status, e.to_status)
        for e in application.events.exclude(kind__startswith="email").order_by("created_at", "id")
    ]
    assert transitions == [
        ("assigned", "pending", "pending"),
        ("info_requested", "pending", "needs_info"),
        ("rejected", "needs_info", "rejected"),
    ]
    assert ApplicationEvent.objects.filter(kind="email_sent").count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers itself")
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_one_wins_and_the_other_is_told(mailoutbox):
    """The second reviewer's approval waits on the row lock the first holds, then finds the
    application decided: one customer, one approval."""
    first, second = make_staff(SALES), make_staff(SALES, username="other")
    application = WholesaleApplicationFactory()
    locked, outcome = threading.Event(), {}

    def second_reviewer():
        locked.wait(10)
        try:
            services.approve(application=application, actor=second)
        except services.AlreadyDecided as error:
            outcome["told"] = error.messages[0]
        finally:
            connections.close_all()

    thread = threading.Thread(target=second_reviewer)
    thread.start()
    with transaction.atomic():
        services._locked_open(application)  # the first reviewer holds the row...
        locked.set()
        thread.join(0.5)
        assert thread.is_alive()  # ...and the second waits for it
        services.approve(application=application, actor=first)
    thread.join(10)
    assert "was already approved by sales" in outcome["told"]
    assert Customer.objects.count() == 1
    assert ApplicationEvent.objects.filter(kind="approved").count() == 1


def test_approving_reuses_the_wholesale_tag_whatever_its_case(sales):
    existing = TagFactory(name="WHOLESALE", slug="wholesale-old")
    application = services.approve(application=WholesaleApplicationFactory(), actor=sales)
    assert list(application.customer.tags.values_list("pk", flat=True)) == [existing.pk]
