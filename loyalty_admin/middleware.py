"""Sliding idle timeout for sessions, without a database write per page view."""

import time

from django.conf import settings

REFRESHED_KEY = "_refreshed_at"


class SessionRefreshMiddleware:
    """Move a signed-in session's expiry forward at most once per SESSION_REFRESH_SECONDS.

    Django's SESSION_SAVE_EVERY_REQUEST gives the same idle timeout by rewriting the session
    row (an UPDATE and a commit) on every request — on the customer list that was a tenth of
    the server time. Here a session idle for SESSION_COOKIE_AGE still ends; one in use is
    rewritten (new expiry in the database and in the cookie) once a minute at most, so the
    timeout is exact to within that minute.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:  # anonymous visitors get no session
            session = request.session
            now = int(time.time())
            if session.modified or now - session.get(REFRESHED_KEY, 0) >= (
                settings.SESSION_REFRESH_SECONDS
            ):
                session[REFRESHED_KEY] = now  # modified: SessionMiddleware saves it
        return response


def stamp_session_at_login(sender, request, user, **kwargs):
    """A login writes the session anyway: start its refresh minute then."""
    if getattr(request, "session", None) is not None:
        request.session[REFRESHED_KEY] = int(time.time())
