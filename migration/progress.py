"""A running import's progress, where other processes can see it before its transaction ends.

PostgreSQL: the engine writes `rows_done` and `heartbeat_at` to the job row from a second
connection (`report.Progress`). SQLite allows one writer at a time and the import's transaction
holds it, so there the engine publishes the count to a small file beside the uploads instead,
replaced atomically after every batch; the job page reads it (`live`), and its modification
time is the heartbeat that tells a stopped worker from a slow one (`ImportJob.is_stalled`,
swept by `manage.py worker`). The file goes when the run ends, whichever way it ends.
"""

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings


def progress_file(job_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / "progress" / f"{int(job_id)}.json"


def publish(job_id: int, rows_done: int) -> None:
    path = progress_file(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as stream:
        json.dump({"rows_done": rows_done}, stream)
    os.replace(name, path)  # readers see the old count or the new one, never half a file


def read(job_id: int) -> tuple[int, datetime] | None:
    """(rows done, when) as last published, or None when nothing is."""
    path = progress_file(job_id)
    try:
        rows_done = int(json.loads(path.read_text())["rows_done"])
        at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return rows_done, at


def clear(job_id: int) -> None:
    progress_file(job_id).unlink(missing_ok=True)


def live(job):
    """`job` with the published count and heartbeat of its run, while one is running."""
    if job.status == job.Status.RUNNING and (published := read(job.pk)) is not None:
        job.rows_done, job.heartbeat_at = published
    return job
