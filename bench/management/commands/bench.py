import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import django
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench import report, run, seed
from customers.models import Customer


def _memory_gb() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            kilobytes = int(handle.readline().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(kilobytes / 1024 / 1024)


def _postgres_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return "PostgreSQL " + cursor.fetchone()[0].split()[0]


class Command(BaseCommand):
    help = (
        "Seed N customers (default 1,000,000; BENCH_SIZE) with COPY unless already seeded, "
        "then measure the customer list against a stock Django admin changelist and the "
        "exports against django-import-export; write bench/results/latest.md and .json "
        "and the README's table. PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--size", type=int, default=int(os.environ.get("BENCH_SIZE", "1000000"))
        )
        parser.add_argument("--repeat", type=int, default=20, help="Timed requests per case.")
        parser.add_argument("--peer-repeat", type=int, default=7)
        parser.add_argument(
            "--export-rows",
            default="100000,1000000",
            help="Comma-separated export sizes (capped at --size).",
        )
        parser.add_argument(
            "--peer-export-max",
            type=int,
            default=100_000,
            help="Largest export django-import-export is run for (it holds the sheet in memory).",
        )
        parser.add_argument(
            "--exports-in-process",
            action="store_true",
            help="Run the export writers in this process (tests; memory figures not per writer).",
        )
        parser.add_argument("--skip-lists", action="store_true")
        parser.add_argument("--skip-exports", action="store_true")
        parser.add_argument("--skip-ranks", action="store_true")
        parser.add_argument("--skip-imports", action="store_true")
        parser.add_argument("--skip-audiences", action="store_true")
        parser.add_argument("--skip-wholesale", action="store_true")
        parser.add_argument("--skip-cards", action="store_true")
        parser.add_argument(
            "--import-rows", type=int, default=100_000, help="Rows of the generated import file."
        )
        parser.add_argument(
            "--peer-import-rows",
            type=int,
            default=2_000,
            help="Rows django-import-export's default import is timed on (its tuned run gets "
            "five times as many); its rate does not depend on the file's length.",
        )
        parser.add_argument("--reseed", action="store_true", help="Load the data set again.")
        parser.add_argument(
            "--output-dir", default=str(Path(settings.BASE_DIR) / "bench" / "results")
        )
        parser.add_argument(
            "--no-readme",
            action="store_true",
            help="Do not update the README's table or append the run to docs/benchmark.md.",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark runs on PostgreSQL: set DATABASE_URL.")
        size = options["size"]
        self._seed(size, options["reseed"])
        output_dir = Path(options["output_dir"])
        result = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "size": size,
            "machine": {
                "cores": os.cpu_count(),
                "memory_gb": _memory_gb(),
                "postgresql": _postgres_version(),
                "python": platform.python_version(),
                "django": django.get_version(),
            },
            "lists": [],
            "exports": [],
            "ranks": [],
            "imports": [],
            "audiences": [],
            "wholesale": [],
            "cards": [],
            "notes": [],
        }
        if not options["skip_lists"]:
            self.stdout.write("Customer list, ours and the stock admin:")
            result["lists"] = run.measure_lists(
                size, options["repeat"], options["peer_repeat"], log=self.stdout.write
            )
        if not options["skip_audiences"]:
            from bench import audiences

            self.stdout.write("Audiences:")
            result["audiences"] = audiences.measure_audiences(size, log=self.stdout.write)
        if not options["skip_wholesale"]:
            from bench import wholesale

            self.stdout.write("Wholesale:")
            result["wholesale"] = wholesale.measure_wholesale(size, log=self.stdout.write)
        if not options["skip_cards"]:
            from bench import cards

            self.stdout.write("Tourist cards:")
            result["cards"] = cards.measure_cards(size, log=self.stdout.write)
        if not options["skip_ranks"]:
            self.stdout.write("Ranks:")
            result["ranks"] = run.measure_rank_work()
            for row in result["ranks"]:
                self.stdout.write(f"  {row['title']:<48} {row['p50_ms']:>10,.0f} ms")
        if not options["skip_imports"]:
            from bench import imports

            self.stdout.write("Imports:")
            result["imports"] = imports.measure_imports(
                min(options["import_rows"], size),
                options["peer_import_rows"],
                output_dir / "files",
                log=self.stdout.write,
            )
        if not options["skip_exports"]:
            self.stdout.write("Exports:")
            result["exports"] = self._exports(options, size, output_dir / "files")
        docs = not options["no_readme"]
        markdown = report.write_results(
            result,
            output_dir,
            Path(settings.BASE_DIR) / "README.md" if docs else None,
            Path(settings.BASE_DIR) / "docs" / "benchmark.md" if docs else None,
        )
        self.stdout.write("")
        self.stdout.write(markdown)

    def _seed(self, size: int, reseed: bool) -> None:
        existing = seed.seeded_size()
        if existing == size and not reseed:
            self.stdout.write(f"Reusing the seeded data set of {size:,} customers.")
            return
        if not seed.is_bench_database() and Customer.objects.exists():
            raise CommandError(
                "This database holds customers that the benchmark did not load; it will not "
                "replace them. Point DATABASE_URL at a database of its own."
            )
        self.stdout.write(f"Seeding {size:,} customers with COPY …")
        counts = seed.seed(size, log=self.stdout.write)
        self.stdout.write(", ".join(f"{key}: {value:,}" for key, value in counts.items()))

    def _exports(self, options, size: int, folder: Path) -> list[dict]:
        sizes = sorted({min(int(n), size) for n in options["export_rows"].split(",") if n})
        results = []
        try:
            for rows in sizes:
                writers = ["ours-xlsx", "ours-csv", "copy-csv"]
                if rows <= options["peer_export_max"]:
                    writers.insert(1, "peer-xlsx")
                for writer in writers:
                    measured = run.measure_export(
                        writer, rows, folder, in_process=options["exports_in_process"]
                    )
                    results.append(measured)
                    self.stdout.write(
                        f"  {writer:<10} {rows:>9,} rows  {measured['rows_per_s']:>8,} rows/s"
                        f"  {measured['peak_rss_mb']:>5,} MB"
                    )
        finally:
            for path in folder.glob("*"):
                path.unlink()
        return results
