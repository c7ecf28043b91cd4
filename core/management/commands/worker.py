"""`manage.py worker`: the background task worker, plus the sweep that marks jobs whose worker
died as failed (core.jobs.fail_stalled_jobs), at start and every JOB_SWEEP_SECONDS, and the
periodic work apps name in WORKER_PERIODIC (recounting audiences, freezing those due)."""

import argparse
import logging
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils.module_loading import import_string

from core.jobs import fail_stalled_jobs

logger = logging.getLogger("loyalty.jobs")


def run_periodic(last_run: dict[str, float], now: float | None = None) -> None:
    """Run each WORKER_PERIODIC callable whose interval has passed since it last ran (`now`: a
    monotonic clock reading)."""
    now = time.monotonic() if now is None else now
    for path, seconds in settings.WORKER_PERIODIC:
        if path in last_run and now - last_run[path] < seconds:
            continue
        last_run[path] = now
        try:
            import_string(path)()
        except Exception:  # periodic work must never stop the worker
            logger.exception("periodic %s failed; trying again at its next turn", path)


def sweep_until(stop: threading.Event, every: float) -> None:
    last_run: dict[str, float] = {}
    while True:
        try:
            fail_stalled_jobs()
            run_periodic(last_run)
        except Exception:  # the sweep must never stop the worker
            logger.exception("the stalled-job sweep failed; trying again later")
        finally:
            connection.close()  # this thread's own connection
        if stop.wait(every):
            return


class Command(BaseCommand):
    help = (
        "Run background jobs (django-tasks' db_worker; extra arguments go to it) and mark jobs "
        "whose worker died as failed, ready to retry."
    )

    def add_arguments(self, parser):
        parser.add_argument("worker_args", nargs=argparse.REMAINDER)

    def run_from_argv(self, argv):
        """Everything after `worker` goes to db_worker, options too (`--no-reload`): argparse
        would refuse an option it does not know before any other argument."""
        self.passed_on = argv[2:]
        super().run_from_argv(argv[:2])

    def handle(self, *args, worker_args=(), **options):
        worker_args = [*getattr(self, "passed_on", ()), *worker_args]
        stop = threading.Event()
        sweeper = threading.Thread(
            target=sweep_until, args=(stop, settings.JOB_SWEEP_SECONDS), daemon=True
        )
        sweeper.start()
        try:
            call_command("db_worker", *worker_args)
        finally:
            stop.set()
            sweeper.join(timeout=5)
