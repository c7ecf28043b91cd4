"""Settings from .env, the readable console email, and quiet refusals in the log."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from loyalty_admin.roles import CUSTOMER_CARE

ROOT = Path(__file__).resolve().parents[2]


def test_manage_py_reads_dot_env_in_a_fresh_checkout(tmp_path):
    """The README's commands run as written once `make run` made a .env: no SECRET_KEY in the
    environment, the file supplies it."""
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\nSECRET_KEY=from-the-file\n")
    env = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "LOYALTY_TESTING")
    }
    env["ENV_FILE"] = str(env_file)
    command = [
        sys.executable,
        "manage.py",
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY)",
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "from-the-file"]
    env_file.write_text("")  # no file values: the same command refuses to start
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    assert "SECRET_KEY must be set" in result.stderr


@override_settings(MAILERS={"default": {"BACKEND": "core.mail.ReadableConsoleBackend"}})
def test_the_console_email_shows_a_long_link_whole(capsys):
    link = "http://127.0.0.1:8000/account/reset/" + "x" * 90 + "/"
    mail.send_mail("Đặt lại mật khẩu", f"Mở liên kết: {link}", None, ["mai@example.com"])
    out = capsys.readouterr().out
    assert link in out and "Mở liên kết" in out and "=\n" not in out


@pytest.mark.django_db
def test_a_refused_page_is_one_log_line_without_a_traceback(staff_client):
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(self.format(record))

    keep = Keep()
    logging.getLogger().addHandler(keep)
    try:
        response = staff_client(CUSTOMER_CARE).get(reverse("ranks:policy"))
    finally:
        logging.getLogger().removeHandler(keep)
    assert response.status_code == 403
    forbidden = [line for line in seen if "Forbidden" in line]
    assert len(forbidden) == 1 and "Traceback" not in forbidden[0]
