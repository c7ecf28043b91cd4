import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from loyalty_admin.roles import ADMINISTRATOR, ROLES

USERNAMES = {
    ADMINISTRATOR: "admin",
    "Sales": "sales",
    "Marketing": "marketing",
    "Customer care": "care",
}


class Command(BaseCommand):
    help = (
        "Create the demo's administrator and one user per role with generated passwords "
        "(first run only), and print the logins. Kept in .demo-logins, outside git."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        logins_file = Path(settings.DEMO_LOGINS_FILE)
        lines = logins_file.read_text().splitlines() if logins_file.exists() else []
        known = {line.split()[0] for line in lines if line.strip()}
        for role in ROLES:
            username = USERNAMES[role]
            if username in known and User.objects.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(9)
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = user.is_superuser = role == ADMINISTRATOR
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            lines = [line for line in lines if not line.startswith(username + " ")]
            lines.append(f"{username} {password} ({role})")
        logins_file.write_text("\n".join(lines) + "\n")
        logins_file.chmod(0o600)
        self.stdout.write(f"Sign in at {settings.PUBLIC_BASE_URL}/ with one of:")
        for line in lines:
            self.stdout.write(f"  {line}")
