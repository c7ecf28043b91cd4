"""Check-then-create races held by the database: a double submit never becomes HTTP 500."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from customers.models import SavedView
from loyalty_admin.roles import ADMINISTRATOR
from migration.models import MappingProfile
from ranks import services
from ranks.models import RankRecalculation

pytestmark = pytest.mark.django_db


def test_a_saved_view_submitted_twice_is_saved_once(staff_client):
    client = staff_client(ADMINISTRATOR)
    data = {"name": "Spenders", "query": "spent_min=1000"}
    client.post(reverse("customers:view_create"), data)
    second = client.post(reverse("customers:view_create"), data)
    assert second.status_code == 302
    shown = [m.message for m in second.wsgi_request._messages]
    assert shown[-1] == "You already have a view named “Spenders”."
    assert SavedView.objects.count() == 1


def test_one_recalculation_is_queued_or_running_at_a_time(admin_user):
    first = services.queue_recalculation(actor=admin_user)
    with pytest.raises(services.RecalculationBusy):
        services.queue_recalculation(actor=admin_user)
    with pytest.raises(IntegrityError), transaction.atomic():  # whatever reaches the database
        RankRecalculation.objects.create(status=RankRecalculation.Status.RUNNING)
    RankRecalculation.objects.filter(pk=first.pk).update(status=RankRecalculation.Status.FAILED)
    other = services.queue_recalculation(actor=admin_user)
    with pytest.raises(services.RecalculationBusy):
        services.retry_recalculation(RankRecalculation.objects.get(pk=first.pk))
    assert other.status == RankRecalculation.Status.QUEUED


def test_mapping_profile_names_are_unique_whatever_their_case():
    MappingProfile.objects.create(name="Legacy POS", mapping={}, match_key="email")
    with pytest.raises(IntegrityError), transaction.atomic():
        MappingProfile.objects.create(name="legacy pos", mapping={}, match_key="email")
