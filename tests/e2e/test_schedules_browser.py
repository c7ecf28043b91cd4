"""A scheduled export set up in the browser: create it (checking its rows and next runs), run
it now, download its file and read it back."""

import openpyxl
import pytest
from playwright.sync_api import expect

from console.models import ScheduledExport
from loyalty_admin.roles import MARKETING
from tests.customers.factories import CustomerFactory
from tests.e2e.browser import BROWSER_TESTS, sign_in

pytestmark = BROWSER_TESTS


@pytest.fixture(autouse=True)
def folder(settings, tmp_path):
    settings.EXPORT_SCHEDULE_DIR = tmp_path / "out"
    settings.EXPORT_SCHEDULE_DIR.mkdir()
    return settings.EXPORT_SCHEDULE_DIR


def test_create_a_schedule_run_it_now_and_read_its_file(page, live_server, tmp_path, folder):
    CustomerFactory(first_name="Mai", last_name="Trần", city="Huế")
    CustomerFactory(first_name="Lan", last_name="Phạm", city="Huế")
    CustomerFactory(city="Vinh")
    sign_in(page, live_server, MARKETING)

    page.goto(f"{live_server.url}/customers/exports/")
    page.click("text=Scheduled exports")
    expect(page.get_by_text("No export is scheduled yet.")).to_be_visible()
    page.click("text=New schedule")
    page.fill("#id_name", "Huế members")
    page.fill("#id_query_string", "city=Huế")
    expect(page.locator("#id_weekday")).to_be_hidden()  # only for weekly schedules
    page.select_option("#id_frequency", "weekly")
    expect(page.locator("#id_weekday")).to_be_visible()
    page.select_option("#id_weekday", "0")
    page.fill("#id_time_of_day", "07:30")
    page.click("main form button[type=submit]:has-text('Check')")
    expect(page.get_by_test_id("preview")).to_contain_text("2 customers match now.")
    expect(page.get_by_test_id("preview")).to_contain_text("Mon")
    page.click("main form button[type=submit]:has-text('Save schedule')")
    expect(page.get_by_text("The schedule “Huế members” was saved.")).to_be_visible()
    expect(page.get_by_text("Every Monday at 07:30")).to_be_visible()

    page.click("main button:has-text('Run now')")
    expect(page.get_by_text("is running now")).to_be_visible()
    page.reload()  # the worker ran it meanwhile
    expect(page.locator("main table .badge")).to_have_text("Done")
    with page.expect_download() as download_info:
        page.click("main table a:has-text('Download')")
    path = tmp_path / "scheduled.xlsx"
    download_info.value.save_as(path)
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert len(rows) == 3
    assert {row[1] for row in rows[1:]} == {"Trần", "Phạm"}
    schedule = ScheduledExport.objects.get()
    written = schedule.runs.get().file_name
    assert written.startswith("hue-members-") and (folder / written).exists()
    assert page.errors == []
