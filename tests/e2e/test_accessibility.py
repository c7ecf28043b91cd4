"""axe-core (from npm) on every page a signed-in administrator can open, and the public ones:
no serious or critical violation."""

import json
from pathlib import Path

from customers.models import ExportJob, SavedView
from tests.e2e.browser import BROWSER_TESTS, sign_in
from tests.loyalty_admin.test_access import DECISIONS, POST_ONLY, url_for

pytestmark = BROWSER_TESTS

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
NOT_PAGES = {
    "logout",
    "customers:options",
    "customers:export_download",
    "customers:schedule_run_download",
    "customers:schedule_download",
    "migration:error_file",
    "audiences:job_errors",
    "wholesale:document",  # the applicant's PDF or image itself
    "cards:batch_numbers",  # a CSV download
}


def violations(page) -> list[str]:
    """The serious and critical violations axe finds on the page, one line each."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated, not a <script>: the page's CSP stays strict
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{rule['id']} ({rule['impact']}): {rule['help']} — "
        + json.dumps([node["target"] for node in rule["nodes"][:3]])
        for rule in found["violations"]
        if rule["impact"] in ("serious", "critical")
    ]


def test_no_page_has_a_serious_accessibility_violation(page, live_server, objects):
    assert AXE.exists(), "npm ci installs axe-core (a devDependency)"
    public = [reverse_name for reverse_name, roles in DECISIONS.items() if roles == "public"]
    found = {}
    for name in public:
        page.goto(f"{live_server.url}{url_for(name, objects)}")
        found[name] = violations(page)
    sign_in(page, live_server)
    ExportJob.objects.update(created_by=None)
    SavedView.objects.update(is_shared=True)
    for name in sorted(DECISIONS):
        if name in POST_ONLY or name in NOT_PAGES or name in public:
            continue
        response = page.goto(f"{live_server.url}{url_for(name, objects)}")
        if response.status != 200:
            continue  # a redirect's target is a page of its own here
        found[name] = violations(page)
    problems = {name: lines for name, lines in found.items() if lines}
    assert not problems, json.dumps(problems, indent=2, ensure_ascii=False)
    assert len(found) > 20  # the walk reached the pages
