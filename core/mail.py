"""A console email backend a person can read: the development default.

Django's console backend prints the MIME message, whose body is quoted-printable: long lines
are cut with "=" and accents become "=C3=A1", so a password-reset link printed there cannot be
copied. This one prints the headers that matter and the plain text as written.
"""

from django.core.mail.backends.console import EmailBackend


class ReadableConsoleBackend(EmailBackend):
    def write_message(self, message):
        self.stream.write(
            f"From: {message.from_email}\n"
            f"To: {', '.join(message.to)}\n"
            f"Subject: {message.subject}\n\n"
            f"{message.body}\n"
        )
        self.stream.write("-" * 79 + "\n")
