"""Operations commands: staff accounts and demo data."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction

from customers.models import Customer, Order
from loyalty_admin.roles import CUSTOMER_CARE, ROLES

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_staff_puts_the_user_in_one_role_with_a_generated_password():
    output = run("create_staff", "lan", "--role", CUSTOMER_CARE, "--email", "lan@shop.vn")
    password = output.rsplit("password: ", 1)[1].strip()
    user = get_user_model().objects.get(username="lan")
    assert len(password) >= 12 and user.check_password(password)
    assert [g.name for g in user.groups.all()] == [CUSTOMER_CARE]
    assert user.email == "lan@shop.vn" and not user.is_staff
    assert user.has_perm("customers.view_customer")
    assert not user.has_perm("customers.erase_customer")


def test_create_staff_updates_an_existing_account_and_moves_its_role():
    run("create_staff", "minh", "--role", CUSTOMER_CARE, "--password", "first-Pass-1")
    output = run("create_staff", "minh", "--role", "Administrator", "--password", "second-Pass-2")
    user = get_user_model().objects.get(username="minh")
    assert output.startswith("Updated minh (Administrator)")
    assert [g.name for g in user.groups.all()] == ["Administrator"]
    assert user.is_staff and user.check_password("second-Pass-2")


def test_create_staff_refuses_an_unknown_role():
    with pytest.raises(CommandError, match="invalid choice"):
        run("create_staff", "x", "--role", "Janitor")


def test_demo_staff_passwords_are_generated_once(tmp_path, settings):
    settings.DEMO_LOGINS_FILE = tmp_path / "logins"
    first = run("ensure_demo_staff")
    second = run("ensure_demo_staff")
    assert first == second  # the same logins are printed again, not reset
    users = get_user_model().objects.filter(username__in=["admin", "sales", "marketing", "care"])
    assert users.count() == len(ROLES)
    for line in first.splitlines()[1:]:
        username, password, *_ = line.split()
        assert users.get(username=username).check_password(password)
    assert oct(settings.DEMO_LOGINS_FILE.stat().st_mode)[-3:] == "600"


def test_demo_logins_name_the_address_served(tmp_path, settings):
    settings.DEMO_LOGINS_FILE = tmp_path / "logins"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8123"  # what HOST / PORT make it
    assert run("ensure_demo_staff").startswith("Sign in at http://127.0.0.1:8123/ with one of:")


def test_the_default_public_address_follows_host_and_port(monkeypatch):
    import importlib

    from loyalty_admin import settings as module

    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 - an address to print, not to bind
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    try:
        assert importlib.reload(module).PUBLIC_BASE_URL == "http://0.0.0.0:9000"
    finally:
        monkeypatch.undo()
        importlib.reload(module)


def snapshot():
    return (
        sorted(Customer.objects.values_list("email", "phone", "last_name"), key=str),
        Order.objects.count(),
    )


def test_seed_demo_is_deterministic_and_loads_once():
    with transaction.atomic():
        run("seed_demo", "--customers", "60")
        first = snapshot()
        transaction.set_rollback(True)
    run("seed_demo", "--customers", "60")
    assert snapshot() == first
    customers, orders = first
    members = Customer.objects.filter(tourist_cards__isnull=True)  # tourists come on top
    assert members.count() == 60 and len(customers) > 60 and orders > 0
    names = " ".join(name for _, _, name in customers)
    assert any(letter in names for letter in "ễưầạơ")  # Vietnamese names with their accents
    assert "nothing to do" in run("seed_demo", "--customers", "60")
    assert Customer.objects.count() == len(customers)


def test_demo_history_is_dated_and_its_ledger_adds_up():
    from django.db.models import Max, Sum
    from django.utils import timezone

    from customers.models import PointsTransaction, RewardRedemption

    run("seed_demo", "--customers", "300")
    now = timezone.now()
    assert not Order.objects.filter(placed_at__gt=now).exists()
    assert not PointsTransaction.objects.filter(created_at__gt=now).exists()
    assert not RewardRedemption.objects.filter(redeemed_at__gt=now).exists()
    joined = Customer.objects.order_by("joined_at").values_list("joined_at", flat=True)
    assert (now - joined.first()).days > 2 * 365  # three years of members
    assert Order.objects.filter(placed_at__gte=now - timezone.timedelta(days=365)).exists()
    for customer in Customer.objects.filter(order_count__gt=1)[:50]:
        ledger = list(customer.points_transactions.order_by("created_at", "pk"))
        running = 0
        for entry in ledger:  # each entry's balance follows from the one before, in time order
            running += entry.delta
            assert entry.balance_after == running
        assert customer.points_balance == running
        assert customer.order_count == customer.orders.count()
        assert customer.total_spent == customer.orders.aggregate(total=Sum("total"))["total"]
        assert customer.last_order_at == customer.orders.aggregate(last=Max("placed_at"))["last"]
