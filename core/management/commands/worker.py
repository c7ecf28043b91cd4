"""`manage.py worker`: the background task worker, plus the sweep that marks jobs whose worker
died as failed (core.jobs.fail_stalled_jobs), at start and every JOB_SWEEP_SECONDS."""

import argparse
import logging
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from core.jobs import fail_stalled_jobs

logger = logging.getLogger("loyalty.jobs")


def sweep_until(stop: threading.Event, every: float) -> None:
    while True:
        try:
            fail_stalled_jobs()
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

    def handle(self, *args, worker_args, **options):
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
