"""View mixins every app's pages share."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


class RetryJobMixin:
    """POST: queue a failed background job (export, import, rank recalculation) again.

    `get_job()` finds it (with the view's own access rules), `retry_job(job)` queues it or
    raises ValidationError saying why not; either way a message says so and the browser goes
    back to the job's page."""

    retry_job = None  # a staticmethod in the view
    queued_message = ""

    def get_job(self):
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        job = self.get_job()
        try:
            self.retry_job(job)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, self.queued_message)
        return redirect(job)


def safe_next(request, default: str) -> str:
    """The `next` address the request names when it is on this site; else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default
