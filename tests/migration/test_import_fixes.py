"""What an adversarial pass found in imports: each a row's error or a clear refusal."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from customers.models import Customer
from migration import jobs
from migration.models import ImportJob
from tags.models import Tag
from tests.migration.conftest import csv_bytes, run, upload

pytestmark = pytest.mark.django_db
HEADER = ["Old member ID", "Email", "Tags"]


def test_a_nul_byte_deep_in_the_file_is_that_rows_error(import_file, settings):
    settings.IMPORT_BATCH_SIZE = 2000
    filler = [[f"F{n}", f"f{n}@example.com", ""] for n in range(12_000)]  # past the 256 KB sample
    rows = [HEADER, *filler, ["L1", "bad\x00@example.com", ""], ["L2", "ok@example.com", ""]]
    job = import_file(rows, policy="skip_invalid")
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.failed_count) == (12_001, 1)
    assert not Customer.objects.filter(old_member_id="L1").exists()


def test_a_key_repeated_after_an_invalid_row_is_reported(import_file):
    rows = [HEADER, ["L1", "not an email", ""], ["L2", "b@example.com", ""], ["L1", "c@x.vn", ""]]
    job = import_file(rows, policy="skip_invalid")
    assert (job.created_count, job.failed_count) == (1, 2)
    assert not Customer.objects.filter(old_member_id="L1").exists()
    messages = [error for row in job.preview for error in row["errors"]]
    assert any("Same old member ID as row 2" in str(message) for message in messages)


def test_every_row_failing_is_a_failed_import(import_file, tmp_path, capsys):
    rows = [HEADER, ["L1", "nope", ""], ["L2", "nope either", ""]]
    job = import_file(rows, policy="skip_invalid")
    assert job.status == ImportJob.Status.FAILED
    assert "Every row has problems (2): nothing was imported" in job.error
    assert not any("Nothing changed" in note for note in job.notes)
    path = tmp_path / "all-bad.csv"
    path.write_bytes(csv_bytes(rows))
    with pytest.raises(CommandError, match="Every row has problems"):
        call_command("import_customers", str(path), "--policy", "skip_invalid")


def test_skipped_rows_create_no_tags(import_file):
    rows = [
        HEADER,
        ["L1", "not an email", "Only on a bad row"],
        ["L2", "b@example.com", "Kept, Only on a bad row later"],
    ]
    job = import_file(rows, policy="skip_invalid", create_tags=True)
    assert (job.created_count, job.failed_count) == (1, 1)
    assert set(Tag.objects.values_list("name", flat=True)) == {
        "Kept",
        "Only on a bad row later",
    }
    customer = Customer.objects.get(old_member_id="L2")
    assert set(customer.tags.values_list("name", flat=True)) == {"Kept", "Only on a bad row later"}
    assert sorted(job.created_tag_ids) == sorted(Tag.objects.values_list("pk", flat=True))


def test_a_dry_run_is_imported_once(tmp_path, admin_user):
    dry = run(
        upload(tmp_path, "m.csv", csv_bytes([HEADER, ["L1", "a@example.com", ""]])), dry_run=True
    )
    first = jobs.run_for_real(dry, user=admin_user)
    with pytest.raises(Exception, match="already imported as import"):
        jobs.run_for_real(dry, user=admin_user)
    # The database holds it too, whatever reaches it.
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportJob.objects.create(dry_run_of=dry, status=ImportJob.Status.QUEUED)
    ImportJob.objects.filter(pk=first.pk).update(status=ImportJob.Status.FAILED)
    assert jobs.run_for_real(dry, user=admin_user).dry_run_of == dry


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "cp1258"])
def test_a_wrong_encoding_is_a_clear_refusal(admin_client, encoding):
    content = "Mã cũ,Email\nL1,ạ@example.com\n".encode()
    response = admin_client.post(
        reverse("migration:upload"),
        {"file": SimpleUploadedFile("m.csv", content), "encoding": encoding},
    )
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert "invalid-feedback" in response.content.decode()
        assert not ImportJob.objects.exists()
    else:  # read, however oddly: the mapping page must open
        assert admin_client.get(response.url).status_code in (200, 302)


# --- undo -------------------------------------------------------------------------------------


def test_undoing_a_later_import_then_an_earlier_one(import_file):
    from migration.undo import undo

    existing = Customer.objects.create(member_number="M1", old_member_id="L1", city="Huế")
    first = import_file([["Old member ID", "City"], ["L1", "Vinh"]])
    second = import_file([["Old member ID", "City"], ["L1", "Hà Nội"]])
    undo(second)
    existing.refresh_from_db()
    assert existing.city == "Vinh"
    undo(first)  # the first undo's own writes are not "someone else's"
    existing.refresh_from_db()
    assert existing.city == "Huế"


def test_a_rank_recalculation_after_an_import_is_a_change_since(import_file):
    from migration.undo import UndoRefused, undo
    from ranks.services import recalculate_all
    from tests.customers.factories import OrderFactory, PointsTransactionFactory, RankFactory

    RankFactory(name="Member", level=1, threshold=0, is_default=True)
    RankFactory(name="Gold", level=3, threshold=10)
    existing = Customer.objects.create(member_number="M1", old_member_id="L1", city="Huế")
    job = import_file([["Old member ID", "City"], ["L1", "Vinh"]])
    before = Customer.objects.get(pk=existing.pk).updated_at
    OrderFactory(customer=existing, total=100)
    PointsTransactionFactory(customer=existing, delta=100, balance_after=100)
    recalculate_all()
    existing.refresh_from_db()
    assert existing.rank.name == "Gold" and existing.updated_at > before
    with pytest.raises(UndoRefused, match="changed by someone else"):
        undo(job)


def test_an_undo_task_run_twice_leaves_the_finished_undo_alone(import_file, admin_user):
    from migration.undo import queue_undo, run_undo

    job = import_file([["Old member ID", "Email"], ["L1", "a@example.com"]])
    queue_undo(job, actor=admin_user, force=False)
    assert run_undo(job.pk, admin_user.pk, False).status == ImportJob.Status.UNDONE
    again = run_undo(job.pk, admin_user.pk, False)
    assert (again.status, again.undo_error) == (ImportJob.Status.UNDONE, "")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the writer thread is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_clash_with_a_concurrent_writer_is_named_not_an_aborted_transaction(tmp_path, settings):
    """Another transaction saves a customer with an email this import is about to create: the
    import's writer waits on the unique index, then fails when the other commits. The job says
    what happened, not the "current transaction is aborted" its next read met."""
    import threading

    import psycopg2

    settings.IMPORT_BATCH_SIZE = 2
    rows = [HEADER, ["L1", "dup@example.com", ""]] + [
        [f"L{n}", f"c{n}@example.com", ""] for n in range(2, 8)
    ]
    job = upload(tmp_path, "m.csv", csv_bytes(rows))
    params = connection.get_connection_params()
    other = psycopg2.connect(**params)
    with other.cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers_customer (member_number, email, first_name, last_name, "
            "gender, address, city, country, customer_type, status, referral_source, "
            "points_balance, lifetime_points, total_spent, order_count, rank_overridden, "
            "joined_at, created_at, updated_at, custom_fields, search_text, password) VALUES "
            "('M9', 'dup@example.com', '', '', '', '', '', 'VN', 'retail', 'active', '', 0, 0, "
            "0, 0, false, now(), now(), now(), '{}', '', '')"
        )
    timer = threading.Timer(1.0, other.commit)
    timer.start()
    try:
        job = run(job)
    finally:
        timer.join()
        other.close()
    assert job.status == ImportJob.Status.FAILED
    assert "another import or an edit saved a customer" in job.error
    assert "current transaction is aborted" not in job.error
    assert Customer.objects.count() == 1
