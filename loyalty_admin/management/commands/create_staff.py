import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from loyalty_admin.roles import ADMINISTRATOR, ROLES


class Command(BaseCommand):
    help = "Create (or update) a staff account in one role; prints a generated password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Defaults to a generated one, printed once.")

    def handle(self, *args, username, role, email, password, **options):
        try:
            group = Group.objects.get(name=role)
        except Group.DoesNotExist:
            raise CommandError(f"Role {role!r} does not exist; run migrate first.") from None
        user, created = get_user_model().objects.get_or_create(username=username)
        password = password or secrets.token_urlsafe(12)
        user.email = email or user.email
        user.is_staff = role == ADMINISTRATOR
        user.set_password(password)
        user.save()
        user.groups.set([group])
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} {username} ({role}); password: {password}")
