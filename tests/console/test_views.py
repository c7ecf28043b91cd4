import io

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers import selectors
from customers.models import Customer, ExportJob, ListPreference
from loyalty_admin.roles import ADMINISTRATOR, CUSTOMER_CARE, SALES
from tests.conftest import make_staff
from tests.customers.factories import (
    CustomerFactory,
    CustomerTagFactory,
    OrderFactory,
    RankFactory,
    StoreFactory,
    TagFactory,
)
from tests.loyalty_admin.test_query_counts import BASE

pytestmark = pytest.mark.django_db


def test_list_query_count_does_not_grow_with_rows(
    staff_client, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr("console.results.PER_PAGE", 4)  # more rows than a page: counted
    client = staff_client(ADMINISTRATOR)
    rank, store = RankFactory(), StoreFactory()
    CustomerFactory.create_batch(5, rank=rank, preferred_store=store)
    ListPreference.objects.create(
        user=get_user_model().objects.get(username="admin"),
        columns=["member_number", "name", "rank", "preferred_store", "tags"],
    )
    # The signed-in page's (session, user, permissions and roles), filter choices (rewards,
    # custom fields, ranks; the tag and store pickers load their options on demand),
    # preference, page, capped count, saved views, tag prefetch and the ranks the bulk bar
    # offers for a manual rank (an Administrator may set one) (no session save: it is
    # refreshed once a minute at most, and the login stamped it); PostgreSQL
    # first asks the planner's estimate of the table size (used instead of a count at scale),
    # and runs the page and the count each without parallel workers: SET LOCAL in a transaction
    # of their own — inside the test's transaction a savepoint, the setting, the value put
    # back and the release, four statements each (a request outside one sends one).
    expected = BASE + 9 + (1 + 8 if connection.vendor == "postgresql" else 0)
    with django_assert_num_queries(expected):
        client.get(reverse("customers:list"))
    for customer in CustomerFactory.create_batch(20, rank=rank, preferred_store=store):
        CustomerTagFactory(customer=customer)
    with django_assert_num_queries(expected):
        response = client.get(reverse("customers:list"))
    assert response.status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel query is PostgreSQL's")
def test_list_queries_run_without_parallel_workers(staff_client, monkeypatch):
    """Read on the request's own connection (here, inside the test's transaction), the page
    and the count each run with max_parallel_workers_per_gather = 0 (starting workers costs a
    LIMIT query more than it saves), and the connection's setting is put back after each."""
    monkeypatch.setattr("console.results.PER_PAGE", 2)
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(3, city="Huế")
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 3")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("customers:list"), {"city": "Huế"})
    assert response.status_code == 200
    sqls = [query["sql"] for query in captured.captured_queries]
    reads = [
        i
        for i, sql in enumerate(sqls)
        if sql.startswith("SELECT") and '"customers_customer"' in sql
    ]
    assert len(reads) == 2  # the page, and the count (more matches than a page)
    for read in reads:
        off = max(i for i, sql in enumerate(sqls[:read]) if "set_config" in sql)
        assert "'0'" in sqls[off]
        back = next(i for i, sql in enumerate(sqls) if i > read and "set_config" in sql)
        assert "'3'" in sqls[back] and back < read + 2
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "3"


def test_list_never_runs_a_plain_count_star(
    staff_client, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr("console.results.PER_PAGE", 2)
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(3)
    with django_assert_max_num_queries(20) as captured:
        client.get(reverse("customers:list"))
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)


def test_list_says_capped_counts_honestly(staff_client, settings, monkeypatch):
    settings.LIST_COUNT_CAP = 3
    monkeypatch.setattr("console.results.PER_PAGE", 2)
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(5)
    response = client.get(reverse("customers:list"))
    assert "3+ customers" in response.content.decode()


def test_a_first_page_holding_every_result_is_the_count(staff_client, monkeypatch):
    """No count query when the first page is not full: its rows are the count."""
    monkeypatch.setattr("console.results.PER_PAGE", 3)
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(2, city="Huế")
    CustomerFactory.create_batch(4, city="Hà Nội")
    with CaptureQueriesContext(connection) as captured:
        body = client.get(reverse("customers:list"), {"city": "Huế"}).content.decode()
    assert "2 customers" in body
    assert not [q for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    with CaptureQueriesContext(connection) as captured:  # a full page: counted
        response = client.get(reverse("customers:list"), {"city": "Hà Nội"})
    assert "4 customers" in response.content.decode()
    assert [q for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    last_page = client.get(reverse("customers:list") + response.context["results"].next_url)
    assert len(last_page.context["results"].page.rows) == 1
    assert "4 customers" in last_page.content.decode()  # a later page still counts them all


def test_htmx_request_gets_only_the_results(staff_client):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory(first_name="Hoa", last_name="Lê")
    response = client.get(
        reverse("customers:list"), {"q": "le hoa"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "1 customer" in body


def test_detail_query_count_is_pinned(staff_client, django_assert_num_queries):
    client = staff_client(CUSTOMER_CARE)
    customer = CustomerFactory(rank=RankFactory())
    OrderFactory.create_batch(3, customer=customer)
    # The signed-in page's, the customer and its tabs, the "why this rank" panel (ranks,
    # policy, the qualifying amount), rank history on the timeline, marketing consent,
    # wholesale applications and tourist cards, and the access log's row (no session save:
    # once a minute at most).
    with django_assert_num_queries(BASE + 17):
        client.get(customer.get_absolute_url())
    OrderFactory.create_batch(5, customer=customer)
    with django_assert_num_queries(BASE + 17):
        client.get(customer.get_absolute_url())


def create_form(**fields):
    """POST data for the create form: its required defaults plus `fields`."""
    return {
        "country": "VN",
        "customer_type": "retail",
        "status": "active",
        "joined_at": "2026-11-01T10:00",
        **fields,
    }


def test_create_customer_happy_path(staff_client):
    client = staff_client(SALES)
    response = client.post(
        reverse("customers:create"),
        create_form(first_name="Minh", last_name="Phạm", phone="0912 555 666"),
    )
    customer = Customer.objects.get()
    assert response.status_code == 302 and response.url == customer.get_absolute_url()
    assert customer.phone == "+84912555666"


def test_create_needs_one_identifier_and_keeps_what_was_typed(staff_client):
    client = staff_client(SALES)
    response = client.post(
        reverse("customers:create"),
        create_form(first_name="Minh"),
    )
    body = response.content.decode()
    assert "Enter at least one of email, mobile number or member number." in body
    assert 'value="Minh"' in body
    assert not Customer.objects.exists()


def test_duplicate_email_links_to_existing_customer(staff_client):
    client = staff_client(SALES)
    existing = CustomerFactory(email="lan@example.com")
    response = client.post(
        reverse("customers:create"),
        create_form(email="LAN@example.com"),
    )
    body = response.content.decode()
    assert "Another customer already has this email:" in body
    assert f'href="{existing.get_absolute_url()}"' in body
    assert "already exists" not in body  # the unique constraint's own message is not repeated


def test_invalid_phone_is_explained(staff_client):
    client = staff_client(SALES)
    response = client.post(
        reverse("customers:create"),
        create_form(phone="12"),
    )
    assert "“12” is not a" in response.content.decode()


def test_export_small_xlsx_reads_back_with_formulas_as_text(staff_client):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory(
        first_name='=HYPERLINK("http://x")',
        last_name="+1",
        email="a@example.com",
        phone="+84969788698",
    )
    response = client.post(
        reverse("customers:export"),
        {
            "file_format": "xlsx",
            "columns": ["member_number", "first_name", "last_name", "email", "phone"],
            "query": "",
            "ids": "",
            "submitted": "1",
        },
    )
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Member number", "First name", "Last name", "Email", "Mobile number")
    # Exported as they are; the formula-like ones stay text when edited (quotePrefix).
    assert rows[1][1:] == ('=HYPERLINK("http://x")', "+1", "a@example.com", "+84969788698")
    assert [cell.quotePrefix for cell in sheet[2]][1:] == [True, True, False, True]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    job = ExportJob.objects.get()
    assert (job.status, job.rows_done) == ("done", 1)


def test_export_csv_streams_filtered_rows(staff_client):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory(city="Huế", email="hue@example.com")
    CustomerFactory(city="Hà Nội", email="hn@example.com")
    response = client.post(
        reverse("customers:export"),
        {
            "file_format": "csv",
            "columns": ["email", "city"],
            "query": "city=Huế",
            "ids": "",
            "submitted": "1",
        },
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines() == ["Email,City", "hue@example.com,Huế"]


def test_large_export_runs_as_job_with_expiring_download(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.EXPORT_SYNC_ROW_LIMIT = 2
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("customers:export"),
            {
                "file_format": "xlsx",
                "columns": ["member_number"],
                "query": "",
                "ids": "",
                "submitted": "1",
            },
        )
    job = ExportJob.objects.get()
    assert response.url == job.get_absolute_url()
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.total_rows) == ("done", 3, 3)
    download = client.get(reverse("customers:export_download", args=[job.pk]))
    assert download.status_code == 200
    ExportJob.objects.update(expires_at=timezone.now())
    expired = client.get(reverse("customers:export_download", args=[job.pk]))
    assert expired.status_code == 302


def test_export_command_writes_file(tmp_path):
    CustomerFactory(city="Huế")
    CustomerFactory(city="Huế")
    CustomerFactory(city="Hà Nội")
    output = tmp_path / "out.xlsx"
    call_command(
        "export_customers",
        "--filter",
        "city=Huế",
        "--columns",
        "member_number,city",
        "--output",
        str(output),
    )
    rows = list(openpyxl.load_workbook(output).active.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[1][1] == "Huế"


def test_export_command_rejects_bad_filter(tmp_path):
    with pytest.raises(CommandError, match="Points balance: Enter a number"):
        call_command(
            "export_customers", "--filter", "points_min=x", "--output", str(tmp_path / "o.xlsx")
        )


def test_delete_view_archives_customer_with_history(staff_client):
    client = staff_client(ADMINISTRATOR)
    customer = CustomerFactory()
    OrderFactory(customer=customer)
    page = client.get(reverse("customers:delete", args=[customer.pk]))
    assert "Archive customer" in page.content.decode()
    client.post(reverse("customers:delete", args=[customer.pk]), {"action": "delete"})
    assert Customer.objects.filter(pk=customer.pk, archived_at__isnull=True).exists()
    client.post(reverse("customers:delete", args=[customer.pk]), {"action": "archive"})
    assert Customer.objects.archived().filter(pk=customer.pk).exists()


def test_bulk_status_confirms_before_changing(staff_client):
    client = staff_client(SALES)
    a, _ = CustomerFactory.create_batch(2)
    url = reverse("customers:bulk_status")
    page = client.post(url, {"ids": [a.pk], "status": "blocked", "scope": "selected"})
    assert "Set the status of 1 customer to" in page.content.decode()
    assert Customer.objects.filter(status="blocked").count() == 0
    client.post(url, {"scope": "all", "status": "blocked", "confirmed": "yes", "query": ""})
    assert Customer.objects.filter(status="blocked").count() == 2


def test_column_choice_is_remembered(staff_client):
    client = staff_client(CUSTOMER_CARE)
    CustomerFactory(email="x@example.com")
    client.post(reverse("customers:columns"), {"columns": ["member_number", "city"]})
    body = client.get(reverse("customers:list")).content.decode()
    assert "x@example.com" not in body


def test_pages_send_a_strict_csp(staff_client):
    response = staff_client(ADMINISTRATOR).get(reverse("dashboard"))
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode()


def test_login_locks_out_after_repeated_failures(client, settings):
    make_staff(ADMINISTRATOR)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "admin", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "admin", "password": "pw-1234"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_picker_options_are_searched_on_demand(staff_client):
    client = staff_client(CUSTOMER_CARE)
    StoreFactory(name="Hà Nội Mall", code="hn-mall", city="Hà Nội")
    StoreFactory(name="Sài Gòn Centre", code="sg-1", city="Hồ Chí Minh")
    TagFactory(name="VIP")
    TagFactory(name="Lapsed")
    url = reverse("customers:options", args=["stores"])
    assert [o["text"] for o in client.get(url, {"q": "chí minh"}).json()["results"]] == [
        "Sài Gòn Centre"
    ]
    assert len(client.get(url).json()["results"]) == 2
    tags = client.get(reverse("customers:options", args=["tags"]), {"q": "vi"}).json()
    assert [o["text"] for o in tags["results"]] == ["VIP"]
    assert client.get(reverse("customers:options", args=["ranks"])).status_code == 404


def test_remote_pickers_render_only_the_chosen_options(staff_client):
    client = staff_client(ADMINISTRATOR)
    chosen = TagFactory(name="VIP")
    TagFactory(name="Lapsed")
    page = client.get(reverse("customers:list"), {"tags_any": chosen.pk}).content.decode()
    assert f'<option value="{chosen.pk}" selected>VIP</option>' in page
    assert "Lapsed" not in page  # loaded on demand, not rendered
    assert 'data-options-url="/customers/options/tags/"' in page


def test_list_cells_escape_what_customers_typed(staff_client):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory(first_name="<script>x</script>", last_name="O'Brien & Co", city="<b>Huế")
    erased = CustomerFactory(first_name="Gone")
    erased.anonymised_at = timezone.now()
    erased.save()
    page = client.get(reverse("customers:list")).content.decode()
    assert "<script>x</script>" not in page
    assert "O&#x27;Brien &amp; Co &lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;b&gt;Huế" in page
    assert '<span class="text-body-secondary">Anonymised</span>' in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="side connections are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_list_counts_beside_its_page_outside_a_transaction(staff_client, settings, monkeypatch):
    """Served as in production (no enclosing transaction), the capped count runs on a side
    connection while the page reads its rows, and says the same as when counted inline."""
    settings.LIST_COUNT_CAP = 3
    monkeypatch.setattr("console.results.PER_PAGE", 2)
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(5, city="Huế")
    CustomerFactory.create_batch(3, city="Vinh")
    for city, says in (("Huế", "3+ customers"), ("Vinh", "3 customers")):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("customers:list"), {"city": city})
        assert says in response.content.decode()
        assert not [q for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    settings.SIDE_QUERY_THREADS = 0
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("customers:list"), {"city": "Huế"})
    assert "3+ customers" in response.content.decode()
    assert [q for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]


def _page_reads(captured) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "customers_customer"."id"') and "LIMIT" in q["sql"]
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="side connections are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_list_reads_its_rows_beside_the_page_outside_a_transaction(
    staff_client, settings, monkeypatch
):
    """Served as in production, the rows' query runs on a side connection while the page above
    the results renders; the page shows what it shows when the rows are read inline, the next
    page link included, and the request's own connection is left with its setting."""
    monkeypatch.setattr("console.results.PER_PAGE", 2)
    client = staff_client(ADMINISTRATOR)
    customers = CustomerFactory.create_batch(3, city="Huế")
    newest_first = [
        c.member_number for c in sorted(customers, key=lambda c: (c.joined_at, c.pk), reverse=True)
    ]

    def listed(response):
        body = response.content.decode()
        return sorted((n for n in newest_first if n in body), key=body.index)

    with CaptureQueriesContext(connection) as captured:
        beside = client.get(reverse("customers:list"), {"city": "Huế"})
    assert _page_reads(captured) == []
    assert listed(beside) == newest_first[:2]
    assert "3 customers" in beside.content.decode()
    following = client.get(reverse("customers:list") + beside.context["results"].next_url)
    assert listed(following) == newest_first[2:]
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] != "0"
    settings.SIDE_QUERY_THREADS = 0
    with CaptureQueriesContext(connection) as captured:
        inline = client.get(reverse("customers:list"), {"city": "Huế"})
    assert len(_page_reads(captured)) == 1
    assert listed(inline) == newest_first[:2]
    assert beside.context["results"].rows == inline.context["results"].rows


@pytest.mark.skipif(connection.vendor != "postgresql", reason="side connections are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_search_by_identifier_is_not_counted_beside_its_page(staff_client, monkeypatch):
    """Its first page nearly always holds every match: a side count would only compete."""
    started = []
    real_side_query = selectors.side_query
    monkeypatch.setattr(
        selectors, "side_query", lambda *args: started.append(args) or real_side_query(*args)
    )
    client = staff_client(ADMINISTRATOR)
    CustomerFactory(phone="+84912345678", email="hoa.le@example.com", first_name="Hoa")
    for query in ({"q": "0912 345"}, {"q": "hoa.le@"}, {"phone": "0912"}):
        body = client.get(reverse("customers:list"), query).content.decode()
        assert "1 customer" in body
    assert started == []
    assert "1 customer" in client.get(reverse("customers:list"), {"q": "hoa"}).content.decode()
    assert len(started) == 1


def test_filters_in_use_are_chips_that_remove_themselves(staff_client):
    client = staff_client(ADMINISTRATOR)
    gold = RankFactory(name="Gold")
    CustomerFactory(city="Huế", rank=gold, points_balance=500)
    query = f"city=hue&rank={gold.pk}&points_min=100&sort=-total_spent"
    response = client.get(f"{reverse('customers:list')}?{query}")
    chips = {chip["label"]: chip for chip in response.context["active_filters"]}
    assert {label: chip["value"] for label, chip in chips.items()} == {
        "Rank": "Gold",
        "City": "hue",
        "Points balance": "from 100",
    }
    assert chips["Points balance"]["url"] == f"?city=hue&rank={gold.pk}&sort=-total_spent"
    assert chips["Rank"]["url"] == "?city=hue&points_min=100&sort=-total_spent"
    page = response.content.decode()
    assert 'aria-label="Filters in use"' in page and "from 100" in page
    # The sections holding a value are open; the others (but Contact) closed.
    opened = {s["title"]: s["open"] for s in response.context["filter_sections"]}
    assert opened["Contact"] and opened["Membership"] and opened["Points and spend"]
    assert not opened["Tags"] and not opened["Dates"]
    plain = client.get(reverse("customers:list"))
    assert plain.context["active_filters"] == []
    assert [s["open"] for s in plain.context["filter_sections"]].count(True) == 1
