import pytest

from core.jobs import claim
from customers.models import ExportJob

pytestmark = pytest.mark.django_db


def test_claim_takes_a_queued_job_once():
    job = ExportJob.objects.create(columns=["email"], error="earlier failure", rows_done=5)
    claimed, ok = claim(ExportJob, job.pk, rows_done=0)
    assert ok and claimed.status == "running" and claimed.started_at
    job.refresh_from_db()
    assert (job.status, job.error, job.rows_done) == ("running", "", 0)
    again, ok = claim(ExportJob, job.pk, rows_done=0)
    assert not ok and again.status == "running"  # a second worker leaves it alone
