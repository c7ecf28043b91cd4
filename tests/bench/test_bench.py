"""The benchmark's code at a tiny size, so it cannot rot (the real run is `make bench`)."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audiences.models import Audience
from bench import report
from bench.run import _bench_user
from cards.models import CardBatch, TouristCard
from customers.models import Customer, Order, PointsTransaction
from loyalty_admin.roles import ADMINISTRATOR, role_names
from tags.models import CustomerTag
from tests.customers.factories import CustomerFactory
from wholesale.models import WholesaleApplication

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the benchmark loads with COPY: PostgreSQL only"
    ),
]


def test_bench_seeds_measures_and_reports(tmp_path, capsys, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command(
        "bench",
        size=2000,
        repeat=2,
        peer_repeat=1,
        export_rows="300",
        exports_in_process=True,
        import_rows=300,
        peer_import_rows=40,
        output_dir=str(tmp_path),
        no_readme=True,
    )
    assert Customer.objects.count() == 2000
    assert Order.objects.exists() and PointsTransaction.objects.exists()
    assert CustomerTag.objects.values("tag").distinct().count() > 50  # skewed over ~100 tags
    result = json.loads((tmp_path / "latest.json").read_text())
    cases = {row["key"]: row for row in result["lists"]}
    assert len(cases) >= 12
    for key in ("no_filter", "name", "phone", "email", "old_member_id", "deep_page"):
        assert cases[key]["ours"]["p50_ms"] > 0
        assert cases[key]["peer"]["p50_ms"] > 0
        assert cases[key]["ratio"] > 0
        assert cases[key]["explain"]["checked"] >= 1
    # The sample customer is found by every identifier, on our page and (where it can) the peer's.
    for key in ("phone", "email", "old_member_id"):
        assert cases[key]["ours"]["found"] in {"1 customer", "2 customers", "3 customers"}
    assert cases["email"]["peer"]["found"] not in (None, "0")
    assert cases["joined_range"]["peer"] is None  # the stock admin has no such filter
    writers = {export["writer"] for export in result["exports"]}
    assert writers == {"ours-xlsx", "peer-xlsx", "ours-csv", "copy-csv"}
    assert all(export["rows"] == 300 for export in result["exports"])
    ranks = {row["key"]: row for row in result["ranks"]}
    assert ranks["recalculate"]["p50_ms"] > 0 and ranks["simulate"]["p50_ms"] > 0
    assert ranks["tag_rule"]["detail"]["added"] > 0
    assert Customer.objects.filter(rank__isnull=True).count() == 0  # rolled back, as seeded
    imports = {row["key"]: row for row in result["imports"]}
    assert set(imports) == {
        "copy",
        "copy_all",
        "ours_csv",
        "ours_xlsx",
        "ours_update",
        "peer_default",
        "peer_tuned",
    }
    audiences = {row["key"]: row for row in result["audiences"]}
    assert audiences["count_rank_city"]["same"] is True  # the audience counts what the list does
    assert audiences["count_rank_city"]["ratio"] > 0
    assert "count_deep_page" not in audiences  # a page is not a filter
    assert int(audiences["snapshot"]["found"].replace(",", "")) >= 200
    assert audiences["metrics"]["found"] == audiences["snapshot"]["found"]
    assert (audiences["why_member"]["found"], audiences["why_non-member"]["found"]) == (
        "in",
        "out",
    )
    assert audiences["open_deep"]["ratio"] > 0
    assert not Audience.objects.exists()  # the bench's audiences are removed
    assert "### Audiences" in (tmp_path / "latest.md").read_text()
    wholesale = {row["key"]: row for row in result["wholesale"]}
    assert WholesaleApplication.objects.count() == 200  # a tenth of the customers, at least 200
    assert WholesaleApplication.objects.filter(status="pending").exists()
    for key in ("tab_pending", "tab_all", "tab_day", "search_name", "search_tax", "filter_none"):
        assert wholesale[key]["ratio"] > 0 and wholesale[key]["ours"]["p50_ms"] > 0
    assert 0 < wholesale["approve"]["queries"] <= 32
    assert not WholesaleApplication.objects.filter(decided_by__isnull=False).exists()  # rolled back
    assert "### Wholesale" in (tmp_path / "latest.md").read_text()
    cards = {row["key"]: row for row in result["cards"]}
    assert TouristCard.objects.filter(batch__name="BENCH stock").count() == 200
    assert TouristCard.objects.filter(status="active").exists()
    for key in ("cards", "cards_number", "cards_passport", "filter_nationality", "filter_active"):
        assert cards[key]["ratio"] > 0 and cards[key]["ours"]["p50_ms"] > 0
    assert cards["generate"]["ratio"] < 1  # set-based beats one save per card
    assert 0 < cards["generate"]["queries"] < 20
    assert 0 < cards["activate"]["queries"] <= 24
    assert not CardBatch.objects.exclude(name="BENCH stock").exists()  # rolled back
    assert "### Tourist cards" in (tmp_path / "latest.md").read_text()
    assert imports["ours_csv"]["created"] == imports["ours_xlsx"]["created"] == 300
    assert imports["ours_update"]["updated"] > 0 and imports["copy"]["rows"] == 300
    assert imports["copy_all"]["rows"] == 300 and imports["copy_all"]["copy_share"] > 0
    assert imports["peer_default"]["rows"] == 40 and imports["peer_tuned"]["rows"] == 200
    assert Customer.objects.count() == 2000  # every import run rolled back
    assert "share of raw COPY" in (tmp_path / "latest.md").read_text()
    markdown = (tmp_path / "latest.md").read_text()
    assert "| No filter (first page) |" in markdown and "stock admin" in markdown
    assert list((tmp_path / "files").glob("*")) == []  # export files cleaned up
    assert "Reusing" not in capsys.readouterr().out


def test_bench_signs_in_as_a_staff_administrator_not_a_superuser():
    # A superuser's permission checks skip the query every staff member's pages make.
    user = _bench_user()
    assert user.is_staff and not user.is_superuser
    assert role_names(user) == [ADMINISTRATOR]


def test_bench_refuses_a_database_it_did_not_seed(tmp_path):
    CustomerFactory()
    with pytest.raises(CommandError, match="did not load"):
        call_command("bench", size=10, skip_lists=True, skip_exports=True, no_readme=True)


def test_report_flags_missed_targets_and_updates_the_readme(tmp_path):
    row = {
        "key": "name",
        "title": "Quick search",
        "search": True,
        "ours": {"p50_ms": 70.0, "p95_ms": 90.0, "queries": 12, "found": "3 customers"},
        "peer": {"p50_ms": 500.0, "p95_ms": 600.0, "queries": 9, "found": "3"},
        "ratio": 7.1,
        "explain": {"checked": 2, "seq_scans": [1_000_000], "bounded_scans": []},
    }
    ok, why = report.list_verdict(row)
    assert not ok
    assert why == "p50 > 60 ms; < 10x the peer; sequential scan of customers"
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_START}\nold\n{report.README_END}\nrest\n")
    result = {
        "date": "2026-11-23",
        "size": 10,
        "machine": {"cores": 2, "memory_gb": 24, "postgresql": "PostgreSQL 15", "python": "3.13",
                    "django": "6.1"},
        "lists": [row],
        "exports": [
            {"writer": "ours-xlsx", "rows": 10, "seconds": 1, "rows_per_s": 8000,
             "peak_rss_mb": 90},
            {"writer": "peer-xlsx", "rows": 10, "seconds": 5, "rows_per_s": 2000,
             "peak_rss_mb": 300},
        ],
    }  # fmt: skip
    history = tmp_path / "benchmark.md"
    history.write_text("# Benchmark\n\nEarlier runs.\n")
    report.write_results(result, tmp_path / "out", readme, history)
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro") and text.endswith("rest\n")
    assert "| Customer list | 1 | 0 | Quick search |" in text  # the missed target named
    assert "| Export | 1 | 1 | — |" in text
    assert "(docs/benchmark.md)" in text and "| ours-xlsx |" not in text  # tables live there
    kept = history.read_text()
    assert kept.startswith("# Benchmark\n\nEarlier runs.\n\n## Run of 2026-11-23\n")
    assert "| ours-xlsx | 10 | 1 | 8,000 | 90 MB | 4.0x | ✅ |" in kept
    assert "\n### Customer list" in kept


def _import_rows(copy: int, ceiling: int, ours: int, peer: int) -> list[dict]:
    rates = {"copy": copy, "copy_all": ceiling, "ours_csv": ours, "peer_default": peer}
    return [
        {"key": key, "title": key, "rows": 100, "seconds": 1.0, "rows_per_s": rate}
        for key, rate in rates.items()
    ]


def test_report_says_when_an_import_target_is_out_of_anyones_reach():
    # 80% of 6,000 = 4,800 and 25 x 240 = 6,000: both above the 4,500 rows/s that the rows an
    # import must write take by raw COPY alone.
    imports = _import_rows(copy=6000, ceiling=4500, ours=3600, peer=240)
    lines = report._import_lines(imports)
    ceiling = imports[1]
    assert ceiling["asked"] == {
        "80% of the raw COPY": 4800,
        "25x django-import-export's default": 6000,
    }
    assert len(ceiling["out_of_reach"]) == 2 and ceiling["copy_share"] == 0.75
    assert lines[-1] == (
        "In this run 80% of the raw COPY is 4,800 rows/s (107% of the ceiling below) and 25x "
        "django-import-export's default is 6,000 rows/s (133% of the ceiling below). The raw "
        "COPY of the rows an import must write (with ledger, tags and rank history) reaches "
        "4,500 rows/s, so 80% of the raw COPY and 25x "
        "django-import-export's default cannot be met by an import that writes them, however "
        "fast its own work."
    )
    # 80% of 6,000 = 4,800 within reach of a 5,000 rows/s ceiling; 25x 240 not.
    imports = _import_rows(copy=6000, ceiling=5000, ours=3600, peer=240)
    report._import_lines(imports)
    assert imports[1]["out_of_reach"] == ["25x django-import-export's default"]
    # Within reach: 80% of 9,000 = 7,200 and 25 x 200 = 5,000, under a 7,500 rows/s ceiling.
    imports = _import_rows(copy=9000, ceiling=7500, ours=6000, peer=200)
    lines = report._import_lines(imports)
    assert imports[1]["out_of_reach"] == []
    assert "is 5,000 rows/s (67% of the ceiling below)" in lines[-1]
    assert lines[-1].endswith(
        "reaches 7,500 rows/s, so both are within reach of an import that writes them."
    )
