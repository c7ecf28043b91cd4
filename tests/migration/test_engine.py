"""The import engine through its job runner, on whichever database the suite runs on."""

import datetime
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer, CustomerEvent, CustomFieldDefinition, PointsTransaction
from migration.models import ImportBatch, ImportJob
from ranks.models import RankChange, RankPolicy
from tags.models import CustomerTag, Tag
from tests.customers.factories import (
    CustomerFactory,
    CustomFieldFactory,
    RankFactory,
    StoreFactory,
    TagFactory,
)
from tests.migration.conftest import csv_bytes, upload

pytestmark = pytest.mark.django_db

HEAD = ["Mã thành viên cũ", "Họ tên", "Số điện thoại", "Email"]


def problems(job: ImportJob) -> list[tuple]:
    sheet = openpyxl.load_workbook(job.error_file.path).active
    return [tuple(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ";"),
        ("utf-16", "\t"),
        ("cp1258", "|"),
    ],
)
def test_encodings_and_delimiters_are_detected(import_file, encoding, delimiter):
    rows = [HEAD, ["L1", "Nguyễn Thị Ánh", "0912345678", "a@example.com"]]
    content = csv_bytes(rows, delimiter=delimiter, encoding=encoding)
    job = import_file(rows, content=content)
    assert job.status == ImportJob.Status.DONE, job.error
    customer = Customer.objects.get(old_member_id="L1")
    assert (customer.last_name, customer.first_name) == ("Nguyễn", "Thị Ánh")
    assert customer.phone == "+84912345678"


def test_windows_1252_is_told_apart_from_1258(import_file):
    rows = [["Old member ID", "First name", "Email"], ["L1", "José Müller", "j@example.com"]]
    job = import_file(rows, content=csv_bytes(rows, encoding="cp1252"))
    assert job.encoding == "cp1252"
    assert Customer.objects.get(old_member_id="L1").first_name == "José Müller"


def test_a_wrong_chosen_encoding_is_refused_clearly(tmp_path):
    from core.files import FileRejected

    rows = [HEAD, ["L1", "Nguyễn An", "0912345678", "a@example.com"]]
    with pytest.raises(FileRejected, match="not valid utf-8 throughout; choose its encoding"):
        upload(tmp_path, "x.csv", csv_bytes(rows, encoding="cp1258"), encoding="utf-8")
    assert not ImportJob.objects.exists()


def test_xlsx_chosen_sheet_and_cell_types(import_file, tmp_path):
    from tests.migration.conftest import xlsx_bytes

    rows = [
        ["Old member ID", "Full name", "Phone", "Date of birth", "Joined", "Points"],
        [
            "L1",
            "Lê Văn Cường",
            912345678,
            datetime.date(1990, 5, 17),
            datetime.datetime(2020, 1, 2, 0, 0),
            1200.0,
        ],
    ]
    content = xlsx_bytes(rows, sheet="Members", extra_sheets=[("Notes", [["ignore me"]])])
    job = import_file(
        rows, name="legacy.xlsx", content=content, upload_options={"sheet": "Members"}
    )
    assert job.status == ImportJob.Status.DONE, job.error
    customer = Customer.objects.get(old_member_id="L1")
    assert customer.phone == "+84912345678"
    assert customer.date_of_birth == datetime.date(1990, 5, 17)
    assert timezone.localtime(customer.joined_at).date() == datetime.date(2020, 1, 2)
    assert customer.points_balance == 1200


# --- every field ------------------------------------------------------------------------------


def test_every_field_type(import_file):
    gold = RankFactory(name="Gold", code="gold", level=3, threshold=0)
    store = StoreFactory(code="hn-01", name="Hà Nội Center")
    TagFactory(name="VIP")
    CustomFieldFactory(key="shoe_size", label="Shoe size", field_type="number")
    CustomFieldFactory(key="anniversary", label="Anniversary", field_type="date")
    CustomFieldFactory(key="channel", label="Channel", field_type="choice", choices=["Zalo", "SMS"])
    CustomFieldFactory(key="newsletter", label="Newsletter", field_type="boolean")
    CustomFieldFactory(key="note", label="Note", field_type="text")
    header = [
        "Mã thành viên cũ",
        "Họ",
        "Tên",
        "Email",
        "Số điện thoại",
        "Ngày sinh",
        "Giới tính",
        "Địa chỉ",
        "Thành phố",
        "Quốc gia",
        "Loại khách hàng",
        "Trạng thái",
        "Hạng",
        "Cửa hàng",
        "Nguồn",
        "Ngày tham gia",
        "Tags",
        "Điểm",
        "Shoe size",
        "Anniversary",
        "Channel",
        "Newsletter",
        "Note",
        "Member number",
    ]
    row = [
        "OLD-7",
        "Phạm",
        "Minh Châu",
        " Chau@Example.COM ",
        "+84 913 000 111",
        "17/05/1990",
        "Nữ",
        "1 Tràng Tiền",
        "Hà Nội",
        "Việt Nam",
        "bán sỉ",
        "khóa",
        "GOLD",
        "Hà Nội Center",
        "Website",
        "2019-03-04 08:30",
        "vip; Newcomer",
        "2.500",
        "41,5",
        "04.03.2020",
        "zalo",
        "có",
        "likes tea",
        "m9000000001",
    ]
    job = import_file([header, row], create_tags=True)
    assert job.status == ImportJob.Status.DONE, job.preview[0]["errors"]
    assert job.mapping["1"] == "last_name" and job.mapping["20"] == "cf:channel"
    customer = Customer.objects.get(old_member_id="OLD-7")
    assert customer.member_number == "M9000000001"
    assert (customer.last_name, customer.first_name) == ("Phạm", "Minh Châu")
    assert customer.email == "chau@example.com"
    assert customer.phone == "+84913000111"
    assert customer.date_of_birth == datetime.date(1990, 5, 17)
    assert customer.gender == "female"
    assert (customer.address, customer.city, customer.country) == ("1 Tràng Tiền", "Hà Nội", "VN")
    assert (customer.customer_type, customer.status) == ("wholesale", "blocked")
    assert customer.rank == gold and customer.preferred_store == store
    assert customer.referral_source == "website"
    assert customer.joined_at.astimezone(datetime.UTC).replace(tzinfo=None) == datetime.datetime(
        2019, 3, 4, 1, 30
    )
    assert customer.custom_fields == {
        "shoe_size": 41.5,
        "anniversary": "2020-03-04",
        "channel": "Zalo",
        "newsletter": True,
        "note": "likes tea",
    }
    assert customer.points_balance == 2500 and customer.lifetime_points == 2500
    ledger = PointsTransaction.objects.get(customer=customer)
    assert (ledger.delta, ledger.reason, ledger.balance_after) == (2500, "import", 2500)
    assert ledger.reference == f"import #{job.pk}"
    links = CustomerTag.objects.filter(customer=customer)
    assert sorted(link.tag.name for link in links) == ["Newcomer", "VIP"]
    assert {link.source for link in links} == {"import"}
    assert job.created_tag_ids == [Tag.objects.get(name="Newcomer").pk]
    assert "|n pham minh chau" in customer.search_text and "old-7" in customer.search_text
    change = RankChange.objects.get(customer=customer)
    assert (change.reason, change.to_rank) == ("import", gold)
    assert customer.import_job == job


def test_an_imported_customer_s_timeline_says_which_import_created_them(tmp_path):
    """No timeline row per created customer: the entry comes from `Customer.import_job`."""
    from django.test import Client

    from console.selectors import customer_timeline
    from customers.selectors import customer_detail
    from tests.conftest import make_staff
    from tests.migration.conftest import run

    admin = make_staff("Administrator")
    rows = [HEAD, ["L1", "Nguyễn An", "0912345678", "an@example.com"]]
    job = run(upload(tmp_path, "legacy.csv", csv_bytes(rows), user=admin))
    assert job.status == ImportJob.Status.DONE, job.error
    customer = customer_detail(Customer.objects.get(old_member_id="L1").pk)
    assert not CustomerEvent.objects.filter(customer=customer).exists()
    [entry] = customer_timeline(customer)
    assert entry["title"] == "Created" and entry["actor"] == admin
    assert entry["message"] == f"Imported (import #{job.pk}, legacy.csv)"
    assert entry["created_at"] == customer.created_at
    client = Client()
    client.force_login(admin)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert f"Imported (import #{job.pk}, legacy.csv)" in page


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.234,5", Decimal("1234.5")),
        ("1,234.5", Decimal("1234.5")),
        ("12,5", Decimal("12.5")),
        ("1.000", Decimal("1000")),
        ("1 000 000 ₫", Decimal("1000000")),
        ("7", Decimal("7")),
    ],
)
def test_decimals_with_either_separator(raw, expected):
    from migration.fields import parse_decimal

    assert parse_decimal(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("17/05/1990", "1990-05-17"),
        ("05/17/1990", "1990-05-17"),
        ("17-05-90", "1990-05-17"),
        ("1990/05/17", "1990-05-17"),
        ("17.05.1990", "1990-05-17"),
        ("1990-05-17T10:00:00", "1990-05-17"),
        (32980, "1990-04-17"),
    ],
)
def test_legacy_date_formats(raw, expected):
    from migration.fields import parse_datetime

    assert parse_datetime(raw, with_time=False).isoformat() == expected


def test_tags_are_not_created_unless_allowed(import_file):
    job = import_file([["Old member ID", "Email", "Tags"], ["L1", "a@example.com", "Ghost"]])
    assert job.status == ImportJob.Status.FAILED
    assert problems(job)[0][:3] == (
        2,
        "Tags",
        "There is no tag “Ghost” (allow creating missing tags to add it).",
    )
    assert not Tag.objects.exists()


# --- matching and updating --------------------------------------------------------------------


@pytest.mark.parametrize("key", ["old_member_id", "email", "phone", "member_number"])
def test_match_key_updates_only_mapped_columns(import_file, key):
    existing = CustomerFactory(
        old_member_id="L1",
        email="a@example.com",
        phone="+84912345678",
        member_number="M0000000042",
        city="Huế",
        first_name="An",
    )
    header = {
        "old_member_id": "Old member ID",
        "email": "Email",
        "phone": "Phone",
        "member_number": "Member number",
    }[key]
    value = {
        "old_member_id": "L1",
        "email": "A@example.com",
        "phone": "0912 345 678",
        "member_number": "m0000000042",
    }[key]
    job = import_file([[header, "City"], [value, "Đà Nẵng"]], match_key=key)
    assert (job.created_count, job.updated_count) == (0, 1), job.error
    existing.refresh_from_db()
    assert existing.city == "Đà Nẵng" and existing.first_name == "An"
    event = CustomerEvent.objects.get(customer=existing, kind="updated")
    assert event.changes == {"city": ["Huế", "Đà Nẵng"]}


def test_empty_cells_leave_values_unless_empty_clears(import_file):
    customer = CustomerFactory(old_member_id="L1", city="Huế", address="1 Lê Lợi")
    rows = [["Old member ID", "City", "Address"], ["L1", "", "2 Lê Lợi"]]
    import_file(rows)
    customer.refresh_from_db()
    assert (customer.city, customer.address) == ("Huế", "2 Lê Lợi")
    import_file([["Old member ID", "City"], ["L1", ""]], empty_clears=True)
    customer.refresh_from_db()
    assert customer.city == ""


def test_a_file_imported_twice_changes_nothing_the_second_time(import_file):
    rows = [
        [*HEAD, "Điểm"],
        ["L1", "Ngô An", "0912345678", "a@example.com", "100"],
        ["L2", "Đỗ Bình", "0912345679", "b@example.com", "5"],
    ]
    import_file(rows)
    before = list(Customer.objects.order_by("pk").values())
    second = import_file(rows)
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 2)
    assert "Nothing changed" in " ".join(second.notes)
    assert list(Customer.objects.order_by("pk").values()) == before
    assert PointsTransaction.objects.count() == 2


def test_points_update_records_the_difference(import_file):
    customer = CustomerFactory(old_member_id="L1", points_balance=100, lifetime_points=300)
    import_file([["Old member ID", "Points"], ["L1", "250"]])
    customer.refresh_from_db()
    assert (customer.points_balance, customer.lifetime_points) == (250, 450)
    ledger = PointsTransaction.objects.get(customer=customer)
    assert (ledger.delta, ledger.balance_after, ledger.reason) == (150, 250, "import")


def test_ranks_are_re_evaluated_after_the_import(import_file):
    RankPolicy.objects.update_or_create(pk=1, defaults={"basis": "points", "window": "lifetime"})
    member = RankFactory(name="Member", code="member", level=1, threshold=0, is_default=True)
    silver = RankFactory(name="Silver", code="silver", level=2, threshold=1000)
    import_file(
        [
            ["Old member ID", "Email", "Points"],
            ["L1", "a@example.com", "1500"],
            ["L2", "b@example.com", "10"],
        ]
    )
    assert Customer.objects.get(old_member_id="L1").rank == silver
    assert Customer.objects.get(old_member_id="L2").rank == member
    assert RankChange.objects.filter(customer__old_member_id="L1", to_rank=silver).exists()


# --- duplicates, invalid rows, policies -------------------------------------------------------


def test_duplicates_in_the_file_name_both_rows(import_file):
    job = import_file(
        [
            HEAD,
            ["L1", "An", "0912345678", "a@example.com"],
            ["L2", "Bình", "0912345679", "b@example.com"],
            ["L1", "An again", "0912345670", "c@example.com"],
        ],
        policy="skip_invalid",
    )
    assert (job.created_count, job.failed_count) == (2, 1)
    (line,) = problems(job)
    assert line[0] == 4 and "row 2" in line[2] and "twice" in line[2]
    assert line[1] == "Mã thành viên cũ"  # the file's own column name
    assert Customer.objects.get(old_member_id="L1").last_name == "An"  # the first row's


def test_an_identifier_of_another_customer_is_an_error(import_file):
    other = CustomerFactory(email="taken@example.com", member_number="M0000000001")
    job = import_file([HEAD, ["L9", "An", "0912345678", "taken@example.com"]])
    assert job.status == ImportJob.Status.FAILED
    assert "already the email of customer M0000000001" in problems(job)[0][2]
    assert Customer.objects.get() == other


def test_invalid_cells_are_reported_with_row_numbers_and_columns(import_file):
    job = import_file(
        [
            ["Old member ID", "Email", "Phone", "Date of birth", "Points"],
            ["L1", "not-an-email", "12", "31/02/1990", "abc"],
            ["L2", "ok@example.com", "0912345678", "1990-01-01", "-5"],
        ],
        policy="skip_invalid",
    )
    assert job.failed_count == 2 and job.created_count == 0
    lines = problems(job)
    assert [(line[0], line[1]) for line in lines] == [
        (2, "Email"),
        (2, "Phone"),
        (2, "Date of birth"),
        (2, "Points"),
        (3, "Points"),
    ]
    assert "not an email address" in lines[0][2]
    assert "not a valid date" in lines[2][2]
    assert lines[0][3:5] == ("L1", "not-an-email")  # the original row follows


def test_all_or_nothing_writes_nothing_when_a_row_is_invalid(import_file):
    job = import_file(
        [
            HEAD,
            ["L1", "An", "0912345678", "a@example.com"],
            ["L2", "Bình", "0912345679", "broken"],
            ["L3", "Chi", "0912345670", "c@example.com"],
            ["L4", "Dũng", "0912345671", "d@example.com"],
        ]
    )
    assert job.status == ImportJob.Status.FAILED and "nothing was written" in job.error
    assert (job.created_count, job.failed_count) == (0, 1)
    assert not Customer.objects.exists() and not ImportBatch.objects.exists()


def test_skip_invalid_writes_exactly_the_valid_rows(import_file):
    job = import_file(
        [
            HEAD,
            ["L1", "An", "0912345678", "a@example.com"],
            ["L2", "Bình", "0912345679", "broken"],
            ["L3", "Chi", "0912345670", "c@example.com"],
            ["L4", "Dũng", "0912345671", "d@example.com"],
        ],
        policy="skip_invalid",
    )
    assert job.status == ImportJob.Status.DONE
    assert sorted(Customer.objects.values_list("old_member_id", flat=True)) == ["L1", "L3", "L4"]


def test_error_file_cells_never_become_formulas(import_file):
    job = import_file([["Old member ID", "Email"], ['=HYPERLINK("x")', "=1+1"]])
    line = problems(job)[0]
    assert line[3] == '=HYPERLINK("x")' and line[4] == "=1+1"
    sheet = openpyxl.load_workbook(job.error_file.path).active
    assert sheet["D2"].quotePrefix and sheet["E2"].quotePrefix
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_dry_run_changes_nothing_and_previews_each_outcome(import_file):
    CustomerFactory(old_member_id="L1", city="Huế")
    CustomerFactory(old_member_id="L2", city="Huế")
    job = import_file(
        [
            ["Old member ID", "City", "Email"],
            ["L1", "Vinh", ""],
            ["L2", "Huế", ""],
            ["L3", "Vinh", "c@example.com"],
            ["L4", "Vinh", "bad"],
        ],
        dry_run=True,
        policy="skip_invalid",
    )
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.updated_count, job.unchanged_count, job.failed_count) == (
        1,
        1,
        1,
        1,
    )
    assert [row["outcome"] for row in job.preview] == ["update", "unchanged", "new", "error"]
    assert job.preview[0]["changes"] == ["city"]
    assert Customer.objects.count() == 2 and set(
        Customer.objects.values_list("city", flat=True)
    ) == {"Huế"}
    assert not ImportBatch.objects.exists() and not CustomerEvent.objects.exists()


def test_a_crash_half_way_marks_the_job_failed_and_leaves_nothing(
    import_file, monkeypatch, django_capture_on_commit_callbacks
):
    from migration import pipeline

    calls = {"n": 0}
    original = pipeline.Plan.execute

    def crash_on_second(self, cursor):
        calls["n"] += 1
        if calls["n"] == 2:  # on PostgreSQL this runs on the writer thread
            raise RuntimeError("disk on fire")
        return original(self, cursor)

    monkeypatch.setattr(pipeline.Plan, "execute", crash_on_second)
    rows = [HEAD] + [[f"L{i}", "An", f"091234567{i}", f"a{i}@example.com"] for i in range(6)]
    job = import_file(rows, policy="skip_invalid")
    assert job.status == ImportJob.Status.FAILED and "disk on fire" in job.error
    assert not Customer.objects.exists()
    monkeypatch.setattr(pipeline.Plan, "execute", original)
    from migration import jobs

    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.retry(job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and Customer.objects.count() == 6


# --- undo -------------------------------------------------------------------------------------


def test_undo_restores_created_and_updated_rows(import_file):
    from migration.undo import undo

    tag = TagFactory(name="VIP")
    existing = CustomerFactory(
        old_member_id="L1", city="Huế", points_balance=10, email="x@example.com"
    )
    snapshot = Customer.objects.values().get(pk=existing.pk)
    job = import_file(
        [
            ["Old member ID", "City", "Email", "Tags", "Points"],
            ["L1", "Vinh", "new@example.com", "VIP, Fresh", "50"],
            ["L2", "Vinh", "b@example.com", "Fresh", "5"],
        ],
        create_tags=True,
    )
    assert (job.created_count, job.updated_count) == (1, 1)
    # The undo record lists every link the import made: the new customer's (written straight
    # in) and those it added to the matched one (written where not already there).
    new = Customer.objects.get(old_member_id="L2")
    fresh = Tag.objects.get(name="Fresh")
    recorded = sorted(tuple(pair) for batch in job.batches.all() for pair in batch.tag_links)
    assert recorded == sorted([(existing.pk, tag.pk), (existing.pk, fresh.pk), (new.pk, fresh.pk)])
    undo(job)
    existing.refresh_from_db()
    assert (existing.city, existing.email, existing.points_balance) == ("Huế", "x@example.com", 10)
    assert "x@example com" not in existing.search_text and "x@example.com" in existing.search_text
    assert not Customer.objects.filter(old_member_id="L2").exists()
    assert not CustomerTag.objects.filter(tag=tag).exists()
    assert not Tag.objects.filter(name="Fresh").exists()
    restored = Customer.objects.values().get(pk=existing.pk)
    assert {k: v for k, v in restored.items() if k != "updated_at"} == {
        k: v for k, v in snapshot.items() if k != "updated_at"
    }
    ledger = list(
        PointsTransaction.objects.filter(customer=existing).values_list("delta", flat=True)
    )
    assert sorted(ledger) == [-40, 40]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE and job.undone_at


def test_undo_puts_an_imported_rank_back_and_says_so_in_the_rank_history(import_file):
    from migration.undo import undo

    silver = RankFactory(name="Silver", code="silver", level=2, threshold=0)
    gold = RankFactory(name="Gold", code="gold", level=3, threshold=0)
    existing = CustomerFactory(old_member_id="L1", rank=silver)
    job = import_file([["Old member ID", "Rank"], ["L1", "Gold"]])
    assert job.updated_count == 1, job.error
    existing.refresh_from_db()
    assert existing.rank == gold
    undo(job)
    back = RankChange.objects.get(customer=existing, note=f"Import #{job.pk} undone")
    assert (back.from_rank, back.to_rank, back.from_name, back.to_name, back.reason) == (
        gold, silver, "Gold", "Silver", RankChange.Reason.IMPORT,
    )  # fmt: skip
    # The rank engine then places the customer by the ladder (both thresholds are 0: Gold)
    # and records that too: the history always ends at the rank the customer holds.
    existing.refresh_from_db()
    latest = RankChange.objects.filter(customer=existing).order_by("-created_at", "-pk").first()
    assert latest.to_rank == existing.rank


def test_undo_refuses_rows_changed_since_unless_forced(import_file):
    from customers.services import customer_update
    from migration.undo import UndoRefused, undo

    existing = CustomerFactory(old_member_id="L1", city="Huế")
    job = import_file([["Old member ID", "City"], ["L1", "Vinh"]])
    customer = Customer.objects.get(pk=existing.pk)
    customer_update(customer=customer, data={"address": "changed by care"})
    with pytest.raises(UndoRefused, match="changed by someone else"):
        undo(job)
    customer.refresh_from_db()
    assert customer.city == "Vinh"
    undo(job, force=True)
    customer.refresh_from_db()
    assert customer.city == "Huế" and customer.address == "changed by care"


def test_undo_never_deletes_a_created_customer_with_history(import_file):
    from migration.undo import UndoRefused, undo
    from tests.customers.factories import OrderFactory

    job = import_file([["Old member ID", "Email"], ["L1", "a@example.com"]])
    OrderFactory(customer=Customer.objects.get())
    with pytest.raises(UndoRefused, match="cannot be deleted"):
        undo(job, force=True)
    assert Customer.objects.exists()


# --- files and mappings that are refused ------------------------------------------------------


def test_required_custom_field_for_new_customers(import_file):
    CustomFieldFactory(key="tax", label="Tax code", required=True)
    job = import_file([["Old member ID", "Email"], ["L1", "a@example.com"]])
    assert "Tax code is required" in problems(job)[0][2]
    assert CustomFieldDefinition.objects.count() == 1


def test_the_vietnamese_mobile_fast_path_agrees_with_phonenumbers():
    import random

    from django.core.exceptions import ValidationError

    from customers.phone import normalise_phone, phone_search_forms
    from migration.fields import CellError, parse_phone_cell

    rng = random.Random(5)
    samples = [f"0{rng.randint(100_000_000, 999_999_999)}" for _ in range(3000)]
    samples += ["+84 912 345 678", "84912345678", "912345678", "0912.345.678", "(091) 234-5678"]
    for raw in samples:
        try:
            expected = normalise_phone(raw)
        except ValidationError:
            with pytest.raises(CellError):
                parse_phone_cell(raw)
            continue
        phone = parse_phone_cell(raw)
        assert (phone.e164, phone.forms) == (expected, phone_search_forms(expected)), raw


def test_updated_customers_are_re_ranked_by_the_set_based_engine(import_file):
    RankPolicy.objects.update_or_create(pk=1, defaults={"basis": "points", "window": "lifetime"})
    member = RankFactory(name="Member", code="member", level=1, threshold=0, is_default=True)
    silver = RankFactory(name="Silver", code="silver", level=2, threshold=1000)
    customer = CustomerFactory(old_member_id="L1", rank=member)
    import_file([["Old member ID", "Points"], ["L1", "1500"]])
    customer.refresh_from_db()
    assert customer.rank == silver
    change = RankChange.objects.get(customer=customer)
    assert (change.reason, change.from_rank, change.qualifying_amount) == (
        "qualification",
        member,
        1500,
    )


def test_ids_taken_up_front_follow_the_highest_ever_handed_out():
    from migration import writer

    first = CustomerFactory()
    CustomerFactory().delete()  # a deleted row's id is never handed out again
    ids = writer.allocate_ids(Customer, 3)
    assert len(set(ids)) == 3 and min(ids) > first.pk + 1
    assert CustomerFactory().pk > max(ids)


@pytest.mark.parametrize("policy", ["skip_invalid", "all_or_nothing"])
def test_duplicates_far_apart_in_the_file_are_found_through_the_table(
    import_file, settings, policy
):
    # One row per batch: only the last few batches are remembered in memory, older rows are
    # found in the table and traced back to their rows.
    settings.IMPORT_BATCH_SIZE = 1
    CustomerFactory(old_member_id="E1", city="Huế")
    rows = [
        ["Old member ID", "Email", "City"],
        ["L1", "a@example.com", "Vinh"],  # row 2: created
        ["E1", "", "Huế"],  # row 3: matched, unchanged
        ["E2", "", "Vinh"],  # row 4: new
        *[[f"F{i}", f"f{i}@example.com", "Vinh"] for i in range(6)],
        ["L1", "z@example.com", "Vinh"],  # row 11: key of row 2
        ["E1", "", "Vinh"],  # row 12: key of row 3
        ["L9", "a@example.com", "Vinh"],
    ]  # row 13: email of row 2
    job = import_file(rows, policy=policy)
    lines = problems(job)
    assert [(line[0], line[2]) for line in lines] == [
        (11, "Same old member ID as row 2 (“L1”); the file has it twice."),
        (12, "Same old member ID as row 3 (“E1”); the file has it twice."),
        (13, "Same email as row 2 (“a@example.com”); the file has it twice."),
    ]
    if policy == "skip_invalid":
        assert Customer.objects.get(old_member_id="E1").city == "Huế"  # not "last wins"
        assert Customer.objects.get(old_member_id="L1").email == "a@example.com"


def test_referrer_and_activity_dates(import_file):
    referrer = CustomerFactory(member_number="M0000000777")
    job = import_file(
        [
            [
                "Old member ID",
                "Email",
                "Người giới thiệu",
                "Last access",
                "Followed OA",
                "App last seen",
            ],
            ["L1", "a@example.com", "m0000000777", "2024-02-03 10:00", "03/02/2024", "2024-02-04"],
            ["L2", "b@example.com", "M0000000999", "", "", ""],
        ],
        policy="skip_invalid",
    )
    assert job.mapping["2"] == "referred_by" and job.mapping["4"] == "followed_oa_at"
    customer = Customer.objects.get(old_member_id="L1")
    assert customer.referred_by == referrer
    local = timezone.localtime
    assert local(customer.last_access_at).replace(tzinfo=None) == datetime.datetime(2024, 2, 3, 10)
    assert local(customer.followed_oa_at).date() == datetime.date(2024, 2, 3)
    assert local(customer.app_last_seen_at).date() == datetime.date(2024, 2, 4)
    assert problems(job)[0][:3] == (
        3,
        "Người giới thiệu",
        "No customer has the member number “M0000000999” (a referrer must be in the table "
        "already or on an earlier row of the file).",
    )


REFERRAL_HEAD = ["Old member ID", "Member number", "Email", "Referrer"]
REFERRAL_ROWS = [
    REFERRAL_HEAD,
    ["L1", "M1", "a@example.com", ""],  # row 2
    ["L2", "M2", "b@example.com", "M1"],  # an earlier row of the same batch (3 rows a batch)
    ["L3", "M3", "c@example.com", "M3"],  # itself
    ["L4", "M4", "d@example.com", "M2"],  # the batch before, maybe not in the table yet
    ["L5", "M5", "e@example.com", "M9"],  # a later row: refused
    ["L6", "M6", "not-an-email", ""],  # row 7: invalid itself
    ["L7", "M7", "g@example.com", "M6"],  # names the invalid row 7 of the batch before
    ["L8", "M8", "h@example.com", "M7"],  # names row 8, which fails because of row 7
    ["L9", "M9", "i@example.com", "M1"],  # several batches later
    ["L100", "", "", "M4"],  # an existing customer gets a referrer from the file
]


def test_referrers_may_be_earlier_rows_of_the_same_file(import_file):
    existing = CustomerFactory(old_member_id="L100", member_number="M100")
    job = import_file(REFERRAL_ROWS, policy="skip_invalid")
    by_id = {c.old_member_id: c for c in Customer.objects.select_related("referred_by")}
    referrer = {key: c.referred_by and c.referred_by.old_member_id for key, c in by_id.items()}
    assert referrer == {
        "L1": None, "L2": "L1", "L4": "L2", "L9": "L1", "L100": "L4",
    }  # fmt: skip
    existing.refresh_from_db()
    assert existing.referred_by == by_id["L4"]
    found = {(row, message) for row, _column, message, *_rest in problems(job)}
    assert (4, "A customer cannot be their own referrer.") in found
    assert any(row == 6 and "on an earlier row of the file" in text for row, text in found)
    assert (8, "The referrer's row 7 has problems of its own.") in found
    assert (9, "The referrer's row 8 has problems of its own.") in found
    # An invalid row of the same batch is named too.
    job = import_file(
        [REFERRAL_HEAD, ["L20", "M20", "bad", ""], ["L21", "M21", "u@example.com", "M20"]],
        policy="skip_invalid",
    )
    assert (3, "The referrer's row 2 has problems of its own.") in {
        (row, message) for row, _column, message, *_rest in problems(job)
    }


def test_a_dry_run_accepts_referrers_from_earlier_rows(import_file):
    job = import_file(REFERRAL_ROWS[:6], dry_run=True)
    failed = {row for row, *_rest in problems(job)}
    assert failed == {4, 6}
    assert not Customer.objects.exists()


def test_all_or_nothing_refuses_the_file_when_a_referrer_is_missing(import_file):
    job = import_file([*REFERRAL_ROWS[:3], ["L5", "M5", "e@example.com", "M9"]])
    assert job.created_count == 0
    assert not Customer.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the writer thread is PostgreSQL's")
def test_the_writer_runs_with_a_short_switch_interval_put_back_afterwards(import_file, monkeypatch):
    import sys

    from migration import pipeline

    seen = []
    execute = pipeline.Plan.execute

    def recording(plan, cursor):
        seen.append(sys.getswitchinterval())
        execute(plan, cursor)

    monkeypatch.setattr(pipeline.Plan, "execute", recording)
    before = sys.getswitchinterval()
    job = import_file([HEAD, ["L1", "An Lê", "0912345678", "a@example.com"]])
    assert job.status == ImportJob.Status.DONE, job.error
    assert seen and all(interval == pipeline.Pipeline.SWITCH_INTERVAL for interval in seen)
    assert sys.getswitchinterval() == before


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite publishes progress to a file")
def test_on_sqlite_each_batch_publishes_its_progress_and_the_end_clears_it(
    import_file, monkeypatch
):
    from migration import progress, report

    seen = []
    publish = report.publish_progress

    def recording(job_id, done):
        publish(job_id, done)
        seen.append((done, progress.read(job_id)[0]))

    monkeypatch.setattr(report, "publish_progress", recording)
    rows = [HEAD] + [[f"L{i}", "An Lê", "", f"a{i}@example.com"] for i in range(7)]
    job = import_file(rows)
    assert job.status == ImportJob.Status.DONE, job.error
    assert seen == [(3, 3), (6, 6), (7, 7)]  # three rows a batch, visible to a reader each time
    assert progress.read(job.pk) is None


# Every field of a job is either what the run is asked to do (copied from a dry run to the real
# run) or what one run did. A new field must be put on one side: this test says so.
PER_RUN = {
    "id", "dry_run", "dry_run_of", "status", "created_by", "created_at", "started_at",
    "finished_at", "heartbeat_at", "total_rows", "rows_done", "created_count", "updated_count",
    "unchanged_count", "failed_count", "notes", "preview", "error", "error_file",
    "created_tag_ids", "undone_at", "undone_by", "undo_forced", "undo_error",
}  # fmt: skip


def test_every_job_field_is_a_run_setting_or_belongs_to_one_run():
    names = {f.name for f in ImportJob._meta.concrete_fields}
    assert names == set(ImportJob.RUN_SETTINGS) | PER_RUN
    assert not set(ImportJob.RUN_SETTINGS) & PER_RUN


def test_running_a_dry_run_for_real_copies_every_setting(import_file, admin_user):
    from migration import jobs

    rows = [["Old member ID", "Email", "Tags"], ["L1", "a@example.com", "New tag"]]
    dry = import_file(rows, dry_run=True, create_tags=True, empty_clears=True)
    real = jobs.run_for_real(dry, user=admin_user)
    for name in ImportJob.RUN_SETTINGS:
        assert getattr(real, name) == getattr(dry, name), name
    assert (real.dry_run_of, real.created_by) == (dry, admin_user)
