"""The demo's review queue is made through the real workflow."""

import pytest

from customers.models import Customer
from loyalty_admin.roles import SALES
from tags.models import CustomerTag
from tests.conftest import make_staff
from wholesale.models import BusinessType, Status, WholesaleApplication
from wholesale.selectors import age_state, get_conditions

pytestmark = pytest.mark.django_db


def test_the_demo_queue_has_every_status_and_ages_past_the_sla(mailoutbox):
    from console.demo_data import seed_wholesale

    seed_wholesale(reviewer=make_staff(SALES))
    statuses = set(WholesaleApplication.objects.values_list("status", flat=True))
    assert statuses == {Status.PENDING, Status.NEEDS_INFO, Status.APPROVED, Status.REJECTED}
    assert set(WholesaleApplication.objects.values_list("business_type", flat=True)) <= set(
        BusinessType.values
    )
    approved = WholesaleApplication.objects.get(status=Status.APPROVED)
    assert approved.customer.customer_type == Customer.CustomerType.WHOLESALE
    assert CustomerTag.objects.filter(
        customer=approved.customer, tag__name="Wholesale", source=CustomerTag.Source.WHOLESALE
    ).exists()
    sla = get_conditions().sla_hours
    ages = {age_state(a, sla) for a in WholesaleApplication.objects.filter(status="pending")}
    assert "overdue" in ages and len(ages) > 1
    assert mailoutbox == []  # the demo emails nobody
