"""Staff accounts made and looked after in the app by administrators: one role each, an
emailed link to set the password (no password ever typed by someone else), deactivation
instead of deletion, and never without an active Administrator."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from loyalty_admin.roles import ADMINISTRATOR, ROLES

logger = logging.getLogger("loyalty.audit")


def role_of(user) -> str:
    """The user's role: the first of the app's roles among their groups ("" for none)."""
    names = {group.name for group in user.groups.all()}
    return next((role for role in ROLES if role in names), "")


def _keep_an_administrator(user, *, losing: bool) -> None:
    """Refuse a change that would leave no active Administrator. The Administrator group's
    row is locked first, so two such changes at once run one after the other and the second
    counts what the first left (a fresh query after the lock, in its own snapshot)."""
    if not losing:
        return
    Group.objects.select_for_update().get(name=ADMINISTRATOR)
    others = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=ADMINISTRATOR)
        .exclude(pk=user.pk)
    )
    if not others.exists():
        raise ValidationError(
            _("%(name)s is the last active Administrator; make someone else one first.")
            % {"name": user.get_username()},
            code="last_administrator",
        )


def _set_role(user, role: str) -> None:
    user.groups.set([Group.objects.get(name=role)])
    user.is_staff = role == ADMINISTRATOR  # the reference-data admin is for Administrators


@transaction.atomic
def create_staff(*, username: str, first_name: str, last_name: str, email: str, role: str, actor):
    """A new account in `role`, without a usable password; the person sets one through the
    link `send_password_link` emails (sent by the caller once the account is saved)."""
    user = get_user_model()(
        username=username, first_name=first_name, last_name=last_name, email=email
    )
    user.set_unusable_password()
    user.save()
    _set_role(user, role)
    user.save(update_fields=["is_staff"])
    logger.info("staff %s created in role %s by user %s", user.pk, role, actor.pk)
    return user


@transaction.atomic
def update_staff(*, user, first_name: str, last_name: str, email: str, role: str, actor):
    was_administrator = role_of(user) == ADMINISTRATOR
    _keep_an_administrator(user, losing=was_administrator and role != ADMINISTRATOR)
    user.first_name, user.last_name, user.email = first_name, last_name, email
    _set_role(user, role)
    user.save(update_fields=["first_name", "last_name", "email", "is_staff"])
    logger.info("staff %s updated (role %s) by user %s", user.pk, role, actor.pk)
    return user


@transaction.atomic
def set_active(*, user, active: bool, actor):
    """Deactivate (the account can no longer sign in; its history keeps its name) or
    reactivate. Nobody deactivates their own account, nor the last active Administrator."""
    if not active and user.pk == actor.pk:
        raise ValidationError(
            _("You cannot deactivate your own account."), code="self_deactivation"
        )
    if not active:
        _keep_an_administrator(user, losing=user.is_active and role_of(user) == ADMINISTRATOR)
    user.is_active = active
    user.save(update_fields=["is_active"])
    logger.info(
        "staff %s %s by user %s", user.pk, "activated" if active else "deactivated", actor.pk
    )
    return user


class LinkNotSent(Exception):
    """The mail server refused or could not be reached; the account itself is saved."""


def send_password_link(*, user, actor) -> None:
    """Email the person a link to set their password (Django's reset token: single use, void
    once the password changes or after PASSWORD_RESET_TIMEOUT). Raises ValidationError when
    there is nobody to send it to, LinkNotSent when the mail could not go."""
    if not user.email:
        raise ValidationError(
            _("%(name)s has no email address to send the link to.") % {"name": user.username},
            code="no_email",
        )
    if not user.is_active:
        raise ValidationError(_("The account is deactivated."), code="inactive")
    path = reverse(
        "staff_password_set",
        args=[
            urlsafe_base64_encode(force_bytes(user.pk)),
            default_token_generator.make_token(user),
        ],
    )
    context = {
        "user": user,
        "url": settings.PUBLIC_BASE_URL + path,
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    try:
        send_mail(
            subject=_("Set your Loyalty Admin password"),
            message=render_to_string("staff/email/set_password.txt", context),
            from_email=None,
            recipient_list=[user.email],
        )
    except OSError as error:  # smtplib's errors and refused connections alike
        logger.warning("password link for staff %s not sent: %s", user.pk, error)
        raise LinkNotSent(str(error)) from error
    logger.info("password link sent to staff %s by user %s", user.pk, actor.pk)
