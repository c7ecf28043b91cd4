"""Write the benchmark's results: latest.json, latest.md, and the table in the README."""

import json
import re
from pathlib import Path

# The floor measured for each list case with hand-written SQL (see issue text in the README).
LIST_LIMITS = {
    "no_filter": "keyset page + estimated count: 2 ms in SQL",
    "name": "trigram index, 100 rows: 5–9 ms in SQL",
    "phone": "2–5 ms in SQL",
    "rank_city": "1–15 ms in SQL",
    "deep_page": "keyset: 2 ms",
}
LIST_P50_TARGET_MS = 60
LIST_P95_TARGET_MS = 150
XLSX_TARGET_ROWS_S = 7000
CSV_TARGET_ROWS_S = 100_000
XLSX_MEMORY_TARGET_MB = 150
IMPORT_COPY_SHARE_TARGET = 0.8
IMPORT_PEER_RATIO_TARGET = 25
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def _plan_cell(explain: dict) -> str:
    if explain["checked"] == 0:
        return "—"
    if explain["seq_scans"]:
        return f"seq scan of {max(explain['seq_scans']):,} rows ❌"
    if explain.get("bounded_scans"):
        return f"index ✅ (+ a LIMIT-stopped scan of {max(explain['bounded_scans']):,} rows)"
    return "index ✅"


def list_verdict(row: dict) -> tuple[bool, str]:
    ours = row["ours"]
    reasons = []
    if ours["p50_ms"] > LIST_P50_TARGET_MS:
        reasons.append(f"p50 > {LIST_P50_TARGET_MS} ms")
    if ours["p95_ms"] > LIST_P95_TARGET_MS:
        reasons.append(f"p95 > {LIST_P95_TARGET_MS} ms")
    if row.get("ratio") is not None:
        needed = 10 if row["search"] else 4
        if row["ratio"] < needed:
            reasons.append(f"< {needed}x the peer")
    if row["explain"]["seq_scans"]:
        reasons.append("sequential scan of customers")
    return not reasons, "; ".join(reasons)


def export_verdicts(exports: list[dict]) -> dict[str, str]:
    by_key = {(e["writer"], e["rows"]): e for e in exports}
    notes = {}
    for export in exports:
        key = (export["writer"], export["rows"])
        if export["writer"] == "ours-xlsx":
            peer = by_key.get(("peer-xlsx", export["rows"]))
            ok = export["rows_per_s"] >= XLSX_TARGET_ROWS_S
            ok &= export["peak_rss_mb"] < XLSX_MEMORY_TARGET_MB
            if peer:
                export["ratio"] = round(export["rows_per_s"] / peer["rows_per_s"], 1)
                ok &= export["ratio"] >= 3.5
            notes[key] = _mark(ok)
        elif export["writer"] == "ours-csv":
            notes[key] = _mark(export["rows_per_s"] >= CSV_TARGET_ROWS_S)
    return notes


def render_markdown(result: dict) -> str:
    machine = result["machine"]
    lines = [
        f"Benchmark of {result['date']} at **{result['size']:,} customers** on "
        f"{machine['postgresql']}, {machine['cores']} cores, {machine['memory_gb']} GiB, "
        f"Python {machine['python']}, Django {machine['django']}.",
        "",
        "### Customer list (full HTTP response, signed in as a staff Administrator, templates "
        "rendered)",
        "",
        f"Targets: p50 ≤ {LIST_P50_TARGET_MS} ms and p95 ≤ {LIST_P95_TARGET_MS} ms; "
        "≥ 10x the stock admin on search cases, ≥ 4x on the others; no sequential scan of "
        "the customer table in any query (EXPLAIN ANALYZE of every query of the page; a scan "
        "that a LIMIT stops within 10,000 rows is shown but allowed).",
        "",
        "| case | ours p50 / p95 | queries | found | stock admin p50 / p95 | found | ratio "
        "| plan | target | limit (hand-written SQL) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["lists"]:
        ours, peer = row["ours"], row["peer"]
        ok, why = list_verdict(row)
        plan = _plan_cell(row["explain"])
        peer_cell = f"{peer['p50_ms']:,} / {peer['p95_ms']:,} ms" if peer else "no such filter"
        lines.append(
            f"| {row['title']} | {ours['p50_ms']:,} / {ours['p95_ms']:,} ms | {ours['queries']} "
            f"| {ours['found'] or '—'} | {peer_cell} | {(peer or {}).get('found') or '—'} "
            f"| {str(row['ratio']) + 'x' if row.get('ratio') else '—'} | {plan} "
            f"| {_mark(ok)}{' ' + why if why else ''} | {LIST_LIMITS.get(row['key'], '')} |"
        )
    if result.get("exports"):
        verdicts = export_verdicts(result["exports"])
        lines += [
            "",
            "### Export (15 columns; each writer in its own process)",
            "",
            f"Targets: XLSX ≥ {XLSX_TARGET_ROWS_S:,} rows/s, under {XLSX_MEMORY_TARGET_MB} MB "
            f"peak RSS, ≥ 3.5x django-import-export; CSV ≥ {CSV_TARGET_ROWS_S:,} rows/s.",
            "",
            "| writer | rows | seconds | rows/s | peak RSS | vs django-import-export | target |",
            "|---|---|---|---|---|---|---|",
        ]
        for export in result["exports"]:
            lines.append(
                f"| {export['writer']} | {export['rows']:,} | {export['seconds']:,} "
                f"| {export['rows_per_s']:,} | {export['peak_rss_mb']:,} MB "
                f"| {str(export['ratio']) + 'x' if export.get('ratio') else '—'} "
                f"| {verdicts.get((export['writer'], export['rows']), '')} |"
            )
    if result.get("ranks"):
        lines += [
            "",
            "### Ranks and automatic tags (set-based SQL in one transaction; each run rolled back)",
            "",
            "Target: every customer's rank recalculated, or a tag rule applied, in seconds at 1M.",
            "",
            "| work | p50 | runs | outcome |",
            "|---|---|---|---|",
        ]
        for row in result["ranks"]:
            detail = row.get("detail") or {}
            outcome = ", ".join(
                f"{key} {value:,}" for key, value in detail.items() if isinstance(value, int)
            )
            lines.append(
                f"| {row['title']} | {row['p50_ms'] / 1000:,.1f} s | {row['runs']} | {outcome} |"
            )
    if result.get("imports"):
        lines += _import_lines(result["imports"])
    if result.get("audiences"):
        lines += _ratio_lines("Audiences", AUDIENCE_TARGETS, result["audiences"])
    if result.get("wholesale"):
        lines += _ratio_lines("Wholesale", WHOLESALE_TARGETS, result["wholesale"])
    if result.get("cards"):
        lines += _ratio_lines("Tourist cards", CARDS_TARGETS, result["cards"])
    for note in result.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def import_verdicts(imports: list[dict]) -> None:
    """Each of our runs against the raw COPY and django-import-export's default, in place."""
    by_key = {row["key"]: row for row in imports}
    copy, peer = by_key.get("copy"), by_key.get("peer_default")
    for row in imports:
        if row["key"] == "copy_all" and copy:  # the floor for any import keeping the records
            row["copy_share"] = round(row["rows_per_s"] / copy["rows_per_s"], 2)
        if not row["key"].startswith("ours"):
            continue
        ok = True
        if copy:
            row["copy_share"] = round(row["rows_per_s"] / copy["rows_per_s"], 2)
            ok &= row["copy_share"] >= IMPORT_COPY_SHARE_TARGET
        if peer:
            row["peer_ratio"] = round(row["rows_per_s"] / peer["rows_per_s"], 1)
            ok &= row["peer_ratio"] >= IMPORT_PEER_RATIO_TARGET
        row["verdict"] = _mark(ok)


def import_feasibility(imports: list[dict]) -> str:
    """Whether this run's targets are within reach of any import that keeps the records: the
    rates the targets ask for against the raw COPY of exactly the rows an import must write
    (recorded on that row, and said in two sentences, with the share of that ceiling each
    target asks: one just under it is out of practical reach too)."""
    by_key = {row["key"]: row for row in imports}
    copy, ceiling, peer = by_key.get("copy"), by_key.get("copy_all"), by_key.get("peer_default")
    if not (copy and ceiling and peer):
        return ""
    asks = {
        f"{IMPORT_COPY_SHARE_TARGET:.0%} of the raw COPY": IMPORT_COPY_SHARE_TARGET
        * copy["rows_per_s"],
        f"{IMPORT_PEER_RATIO_TARGET}x django-import-export's default": IMPORT_PEER_RATIO_TARGET
        * peer["rows_per_s"],
    }
    ceiling["asked"] = {name: round(rate) for name, rate in asks.items()}
    above = [name for name, rate in asks.items() if rate > ceiling["rows_per_s"]]
    ceiling["out_of_reach"] = above
    asked = " and ".join(
        f"{name} is {rate:,.0f} rows/s ({rate / ceiling['rows_per_s']:.0%} of the ceiling below)"
        for name, rate in asks.items()
    )
    verdict = (
        f"so {' and '.join(above)} cannot be met by an import that writes them, however "
        "fast its own work"
        if above
        else "so both are within reach of an import that writes them"
    )
    return (
        f"In this run {asked}. The raw COPY of the rows an import must write (with ledger, "
        f"tags and rank history) reaches {ceiling['rows_per_s']:,} rows/s, {verdict}."
    )


def _import_lines(imports: list[dict]) -> list[str]:
    import_verdicts(imports)
    feasibility = import_feasibility(imports)
    lines = [
        "",
        "### Import into the seeded table (one transaction per run, rolled back)",
        "",
        f"Targets: ≥ {IMPORT_COPY_SHARE_TARGET:.0%} of the rate of a raw COPY of the same rows "
        f"into the same indexed table, and ≥ {IMPORT_PEER_RATIO_TARGET}x django-import-export's "
        "default ModelResource. Ours validates and normalises every cell, matches on the old "
        "member ID, writes the points ledger, rank history, tag links and undo record of each "
        "row (and a timeline entry with the changes of each updated customer); the raw COPY "
        "writes the customer rows alone, already normalised. The "
        "second raw COPY adds the ledger, tag and rank-history rows of the same customers (what "
        "any import must write: points only through the ledger, every rank change in the "
        "history; ours writes no more for a new customer, whose timeline's Created entry comes "
        "from the customer row): its share is the ceiling for an import that keeps those "
        "records, before reading the file, checking a cell or looking up a key.",
        "",
        "| run | rows | seconds | rows/s | share of raw COPY | vs peer default | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in imports:
        share = f"{row['copy_share']:.0%}" if row.get("copy_share") is not None else "—"
        ratio = f"{row['peer_ratio']}x" if row.get("peer_ratio") else "—"
        lines.append(
            f"| {row['title']} | {row['rows']:,} | {row['seconds']:,.2f} | {row['rows_per_s']:,} "
            f"| {share} | {ratio} | {row.get('verdict', '')} |"
        )
    return [*lines, "", feasibility] if feasibility else lines


SECTIONS = {
    "lists": "Customer list",
    "exports": "Export",
    "ranks": "Ranks",
    "imports": "Import",
    "audiences": "Audiences",
    "wholesale": "Wholesale",
    "cards": "Tourist cards",
}


AUDIENCE_TARGETS = (
    "Targets: a filter counted as an audience costs no more than the list's own capped count "
    "of it (≤ 1.25x, for noise); a static audience of 100,000 opened in the list, page 1 and "
    "a deep page, within 1.5x of the unfiltered list's first page."
)
WHOLESALE_TARGETS = (
    "Targets: the review queue's tabs within the customer list's first page, and its searches "
    "within the customer list's name search (≤ 1.25x, for noise; the queue holds a tenth of "
    "the customers); the wholesale-status criterion in the customer list within 1.5x of the "
    "unfiltered list; approving one application in a pinned, small number of queries. "
    "*Pending* selects about 4,000 customers scattered over the table: the plan starts from the "
    "applications' status index and fetches each of them by primary key before sorting, which "
    "is the cost of any filter that selective in the list (a tag's, a city's)."
)

CARDS_TARGETS = (
    "Targets: the cards list and its lookups by card and passport number within the customer "
    "list's first page and its name search (≤ 1.25x, for noise; the stock holds a tenth of the "
    "customers); the nationality and has-a-card criteria in the customer list within 1.5x of "
    "the unfiltered list; a batch of 100,000 cards generated set-based, in at most a quarter "
    "of the time the same cards take saved one by one; activation in a pinned, small number of "
    "queries. *Nationality* selects the holders of one nationality's cards, some 3,000 "
    "customers scattered over the table: the plan starts from the cards' nationality index and "
    "fetches each holder by primary key before sorting, the cost of any filter that selective "
    "(as wholesale's *Pending*)."
)


def _ratio_lines(title: str, targets: str, rows: list[dict]) -> list[str]:
    """A section whose figures each stand beside a peer of the same run, as a ratio (ours over
    the peer: at most the target)."""
    lines = [
        "",
        f"### {title}",
        "",
        targets,
        "",
        "| work | ours p50 / p95 | found | peer | peer p50 | ratio | plan | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ours, peer = row["ours"], row.get("peer")
        if peer:
            ok = row["ratio"] <= row["target"]
            verdict = f"{_mark(ok)} ≤ {row['target']}x"
            peer_cells = f"{row['peer_title']} | {peer['p50_ms']:,} ms | {row['ratio']}x"
        else:
            verdict, peer_cells = "", "— | — | —"
        plan = _plan_cell(row["explain"]) if row.get("explain") else ""
        lines.append(
            f"| {row['title']} | {ours['p50_ms']:,} / {ours['p95_ms']:,} ms | {row['found']} "
            f"| {peer_cells} | {plan} | {verdict} |"
        )
    return lines


def _section_verdicts(result: dict) -> dict[str, tuple[int, list[str]]]:
    """Per section of the run: how many figures have a target, and the titles of those
    that missed it."""
    verdicts: dict[str, tuple[int, list[str]]] = {}
    if result.get("lists"):
        judged = [(row["title"], list_verdict(row)[0]) for row in result["lists"]]
        verdicts["lists"] = (len(judged), [title for title, ok in judged if not ok])
    if result.get("exports"):
        marks = export_verdicts(result["exports"])
        verdicts["exports"] = (
            len(marks),
            [f"{writer} ({rows:,} rows)" for (writer, rows), mark in marks.items() if mark == "❌"],
        )
    if result.get("imports"):
        import_verdicts(result["imports"])
        judged = [row for row in result["imports"] if row.get("verdict")]
        verdicts["imports"] = (len(judged), [r["title"] for r in judged if r["verdict"] == "❌"])
    for key in ("audiences", "wholesale", "cards"):
        judged = [row for row in result.get(key) or [] if row.get("peer")]
        if judged:
            verdicts[key] = (len(judged), [r["title"] for r in judged if r["ratio"] > r["target"]])
    return verdicts


def render_summary(result: dict) -> str:
    """The README's short form of a run: each section's targets met or missed; the full
    tables are on the history page."""
    machine = result["machine"]
    lines = [
        f"Benchmark of {result['date']} at **{result['size']:,} customers** on "
        f"{machine['postgresql']}, {machine['cores']} cores, {machine['memory_gb']} GiB. "
        "Every figure, its peer and its target: [docs/benchmark.md](docs/benchmark.md) "
        "(latest run last).",
        "",
        "| section | figures with a target | met | missed |",
        "|---|---|---|---|",
    ]
    for key, (judged, missed) in _section_verdicts(result).items():
        carried = result.get("carried", {}).get(key)
        title = SECTIONS[key] + (f" (run of {carried})" if carried else "")
        lines.append(
            f"| {title} | {judged} | {judged - len(missed)} | {'; '.join(missed) or '—'} |"
        )
    return "\n".join(lines) + "\n"


def carry_over(result: dict, previous_file: Path) -> dict:
    """Sections this run skipped keep the previous run's figures, saying from when."""
    if not previous_file.exists():
        return result
    previous = json.loads(previous_file.read_text())
    if previous.get("size") != result["size"]:
        return result
    for key, title in SECTIONS.items():
        if not result.get(key) and previous.get(key):
            result[key] = previous[key]
            result.setdefault("carried", {})[key] = previous.get("carried", {}).get(
                key, previous["date"]
            )
            result.setdefault("notes", []).append(
                f"{title} figures are from the run of {result['carried'][key]}."
            )
    return result


def write_results(
    result: dict, output_dir: Path, readme: Path | None, history: Path | None = None
) -> str:
    """latest.json and latest.md in `output_dir`; the README's summary replaced; this run's
    tables appended to the `history` page (docs/benchmark.md), newest last."""
    output_dir.mkdir(parents=True, exist_ok=True)
    result = carry_over(result, output_dir / "latest.json")
    markdown = render_markdown(result)
    (output_dir / "latest.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n"
    )
    (output_dir / "latest.md").write_text("# Benchmark results\n\n" + markdown)
    if readme is not None and readme.exists():
        text = readme.read_text()
        block = f"{README_START}\n{render_summary(result)}{README_END}"
        pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.S)
        if pattern.search(text):
            readme.write_text(pattern.sub(lambda _: block, text))
    if history is not None and history.exists():
        with history.open("a") as page:
            page.write(f"\n## Run of {result['date']}\n\n" + markdown)  # its sections: ###
    return markdown
