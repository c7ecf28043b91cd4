"""The one job abstraction (core.jobs.Job): claim, progress, failure, retry, and the sweep that
marks a job whose worker died as failed, for every kind of job at once."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.jobs import Job, fail_stalled_jobs, job_models
from core.management.commands.worker import run_periodic, sweep_until
from customers.models import ExportJob
from migration.models import ImportJob
from ranks.models import RankRecalculation

pytestmark = pytest.mark.django_db


def test_every_background_job_kind_is_a_job():
    assert {ExportJob, RankRecalculation, ImportJob} <= set(job_models())
    assert all(issubclass(model, Job) for model in job_models())


def test_claim_takes_a_queued_job_once():
    job = ExportJob.objects.create(columns=["email"], error="earlier failure", rows_done=5)
    claimed, ok = ExportJob.claim(job.pk, rows_done=0)
    assert ok and claimed.status == "running" and claimed.started_at and claimed.heartbeat_at
    job.refresh_from_db()
    assert (job.status, job.error, job.rows_done) == ("running", "", 0)
    again, ok = ExportJob.claim(job.pk, rows_done=0)
    assert not ok and again.status == "running"  # a second worker leaves it alone


def test_beat_records_progress_and_life():
    job, _ = ExportJob.claim(ExportJob.objects.create(columns=["email"]).pk)
    before = job.heartbeat_at
    job.beat(rows_done=40)
    job.refresh_from_db()
    assert job.rows_done == 40 and job.heartbeat_at >= before


def test_fail_keeps_the_reason_and_retry_queues_it_again(django_capture_on_commit_callbacks):
    job, _ = RankRecalculation.claim(RankRecalculation.objects.create().pk)
    job.fail(RuntimeError("disk full"))
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "RuntimeError: disk full")
    assert job.finished_at is not None
    with django_capture_on_commit_callbacks() as callbacks:
        job.retry()
    assert job.status == "queued" and len(callbacks) == 1  # handed to the worker on commit
    with pytest.raises(ValidationError, match="Only a failed recalculation"):
        job.retry()


def test_the_sweep_fails_silent_jobs_of_every_kind_and_leaves_live_ones():
    old = timezone.now() - timedelta(hours=2)
    silent_export = ExportJob.objects.create(columns=["email"], status="running", heartbeat_at=old)
    silent_ranks = RankRecalculation.objects.create(status="running", heartbeat_at=old)
    live = ExportJob.objects.create(
        columns=["email"], status="running", heartbeat_at=timezone.now()
    )
    queued = ExportJob.objects.create(columns=["email"], heartbeat_at=old)
    assert fail_stalled_jobs() == 2
    for job in (silent_export, silent_ranks):
        job.refresh_from_db()
        assert job.status == "failed" and "stopped reporting" in job.error
    for job in (live, queued):
        job.refresh_from_db()
        assert job.status in ("running", "queued") and job.error == ""
    assert fail_stalled_jobs() == 0


def test_the_worker_sweeps_at_start_and_keeps_going_after_an_error(monkeypatch, settings):
    settings.WORKER_PERIODIC = []
    calls = []

    def sweep():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database restarting")

    monkeypatch.setattr("core.management.commands.worker.fail_stalled_jobs", sweep)
    stop = threading.Event()
    thread = threading.Thread(target=sweep_until, args=(stop, 0.01))
    thread.start()
    for _ in range(500):  # at most five seconds
        if len(calls) >= 3:
            break
        stop.wait(0.01)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive() and len(calls) >= 3


PERIODIC_CALLS = []


def periodic_job():
    PERIODIC_CALLS.append(1)
    if len(PERIODIC_CALLS) == 2:
        raise RuntimeError("the database went away")


def test_the_worker_runs_periodic_work_at_its_interval_and_survives_its_errors(settings):
    settings.WORKER_PERIODIC = [(f"{__name__}.periodic_job", 60)]
    PERIODIC_CALLS.clear()
    last_run = {}
    run_periodic(last_run, now=1000.0)  # at start
    run_periodic(last_run, now=1030.0)  # within the interval: not again
    assert len(PERIODIC_CALLS) == 1
    run_periodic(last_run, now=1061.0)  # its turn; it fails, and is logged
    run_periodic(last_run, now=1122.0)  # and runs again at the next
    assert len(PERIODIC_CALLS) == 3


def test_the_worker_command_passes_db_worker_options_on(monkeypatch, settings):
    """`manage.py worker --no-reload` (as `make run` starts it) reaches db_worker whole."""
    from core.management.commands import worker

    settings.JOB_SWEEP_SECONDS = 3600
    settings.WORKER_PERIODIC = []
    passed = []
    monkeypatch.setattr(worker, "call_command", lambda name, *args: passed.append((name, args)))
    monkeypatch.setattr(worker, "fail_stalled_jobs", lambda: 0)
    # run_from_argv closes every connection when it ends: not the test's.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    worker.Command().run_from_argv(["manage.py", "worker", "--no-reload", "--batch"])
    assert passed == [("db_worker", ("--no-reload", "--batch"))]
