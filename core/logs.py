"""Logging helpers."""

import logging


class QuietClientErrors(logging.Filter):
    """A 4xx answer (a refused permission, a missing page) is a refusal, not a fault of the
    app: it is logged as one line, without the traceback of the exception that produced it."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = record.exc_text = None
        return True
