"""The export page: what the list shows is what is exported, and its refusals."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.urls import reverse

from customers.models import ExportJob, ListPreference
from loyalty_admin.roles import ADMINISTRATOR
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
URL = reverse("customers:export")


def csv_of(response) -> list[str]:
    return b"".join(response.streaming_content).decode("utf-8-sig").splitlines()


def test_the_export_takes_the_lists_columns_and_order(staff_client):
    client = staff_client(ADMINISTRATOR)
    ListPreference.objects.create(
        user=get_user_model().objects.get(username="admin"), columns=["name", "city", "phone"]
    )
    for spent, name in [(5, "Bảo"), (50, "An"), (20, "Chi")]:
        CustomerFactory(first_name=name, last_name="Lê", city="Huế", total_spent=spent)
    form = client.post(URL, {"query": "city=Huế&sort=-total_spent", "scope": "all"}).context["form"]
    assert form.initial["columns"] == ["last_name", "first_name", "city", "phone"]
    response = client.post(
        URL,
        {
            "query": "city=Huế&sort=-total_spent",
            "scope": "all",
            "file_format": "csv",
            "columns": ["first_name", "total_spent"],
            "submitted": "1",
        },
    )
    assert csv_of(response)[1:] == ["An,50.00", "Chi,20.00", "Bảo,5.00"]


def test_selected_rows_with_none_ticked_are_refused(staff_client):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory()
    response = client.post(URL, {"query": "", "scope": "selected"})
    assert response.status_code == 302
    assert [m.message for m in response.wsgi_request._messages] == [
        "Select at least one customer, or choose all matching."
    ]
    submitted = client.post(
        URL,
        {
            "scope": "selected",
            "ids": "",
            "file_format": "csv",
            "columns": ["email"],
            "submitted": "1",
        },
    )
    assert submitted.status_code == 400
    assert "Select at least one customer" in submitted.content.decode()
    assert not ExportJob.objects.exists()


def test_unticking_every_column_shows_the_error_and_keeps_the_form(staff_client):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory()
    response = client.post(
        URL, {"query": "city=Huế", "scope": "all", "file_format": "csv", "submitted": "1"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["columns"] == ["This field is required."]
    assert form["file_format"].value() == "csv" and form["query"].value() == "city=Huế"


def test_a_streamed_csv_is_done_only_after_its_last_row(staff_client, monkeypatch):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(3)
    data = {"scope": "all", "file_format": "csv", "columns": ["email"], "submitted": "1"}
    response = client.post(URL, data)
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.RUNNING
    csv_of(response)
    job.refresh_from_db()
    assert (job.status, job.rows_done) == (ExportJob.Status.DONE, 3)

    stopped = client.post(URL, data)
    chunks = iter(stopped.streaming_content)
    next(chunks), next(chunks)  # the BOM and the header, then the reader goes away
    # Closing a response ends the request, whose signal would close the test's connection (it
    # sits in the test's transaction, unlike a request's).
    with monkeypatch.context() as patched:
        patched.setattr(connections["default"], "close_if_unusable_or_obsolete", lambda: None)
        stopped.close()
    job = ExportJob.objects.latest("pk")
    assert (job.status, job.rows_done) == (ExportJob.Status.FAILED, 0)
    assert "The download stopped after 0 rows" in job.error


def test_the_export_log_shows_the_filter_in_words(staff_client):
    from tests.customers.factories import RankFactory

    client = staff_client(ADMINISTRATOR)
    gold = RankFactory(name="Gold")
    CustomerFactory(city="Huế", rank=gold)
    query = f"city=Hu%E1%BA%BF&rank={gold.pk}&status=active&points_min=100&sort=-total_spent"
    client.post(
        URL,
        {
            "query": query,
            "scope": "all",
            "file_format": "xlsx",
            "columns": ["email"],
            "submitted": "1",
        },
    )
    job = ExportJob.objects.get()
    assert job.description == "Rank: Gold; City: Huế; Status: Active; Points balance: from 100"
    page = client.get(reverse("customers:exports")).content.decode()
    assert "Rank: Gold; City: Huế; Status: Active; Points balance: from 100" in page
    assert "Hu%E1%BA%BF" not in page
