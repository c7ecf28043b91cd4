import factory
from django.utils import timezone

from customers.models import (
    Customer,
    CustomerTask,
    CustomFieldDefinition,
    Order,
    PointsTransaction,
    Reward,
    RewardRedemption,
    Store,
)
from customers.search_text import build_search_text
from ranks.models import Rank
from tags.models import CustomerTag, Tag


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    code = factory.Sequence(lambda n: f"store-{n}")
    name = factory.Sequence(lambda n: f"Store {n}")
    city = "Hà Nội"


class RankFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rank

    name = factory.Sequence(lambda n: f"Rank {n}")
    code = factory.Sequence(lambda n: f"rank-{n}")
    level = factory.Sequence(lambda n: n + 1)
    threshold = factory.Sequence(lambda n: n * 1000)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"Tag {n}")
    slug = factory.Sequence(lambda n: f"tag-{n}")


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward

    code = factory.Sequence(lambda n: f"reward-{n}")
    name = factory.Sequence(lambda n: f"Reward {n}")
    points_cost = 100


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    member_number = factory.Sequence(lambda n: f"M{n:010d}")
    first_name = "An"
    last_name = "Nguyễn"
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = None
    old_member_id = None
    city = "Hà Nội"
    search_text = factory.LazyAttribute(
        lambda o: build_search_text(
            email=o.email,
            phone=o.phone,
            member_number=o.member_number,
            old_member_id=o.old_member_id,
            first_name=o.first_name,
            last_name=o.last_name,
        )
    )


class CustomerTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerTag

    customer = factory.SubFactory(CustomerFactory)
    tag = factory.SubFactory(TagFactory)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"SO{n:08d}")
    customer = factory.SubFactory(CustomerFactory)
    placed_at = factory.LazyFunction(timezone.now)
    total = 100000


class PointsTransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PointsTransaction

    customer = factory.SubFactory(CustomerFactory)
    delta = 10
    reason = PointsTransaction.Reason.PURCHASE
    balance_after = 10


class RewardRedemptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RewardRedemption

    customer = factory.SubFactory(CustomerFactory)
    reward = factory.SubFactory(RewardFactory)
    points_spent = 100


class CustomerTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerTask

    customer = factory.SubFactory(CustomerFactory)
    name = "Refer a friend"


class CustomFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomFieldDefinition

    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    field_type = CustomFieldDefinition.FieldType.TEXT
