"""Deterministic demo data: stores, ranks, tags, rewards, custom fields and customers with
history. Used by `manage.py seed_demo` (and by tests at a small size)."""

import heapq
import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audiences.models import Audience
from audiences.services import create_static_from_rule, save_audience
from cards import services as card_services
from cards.models import CardEvent, CardStatus, TouristCard
from customers.models import (
    Customer,
    CustomerTask,
    CustomFieldDefinition,
    MarketingConsent,
    Order,
    PointsTransaction,
    Reward,
    RewardRedemption,
    Store,
)
from customers.search_text import build_search_text, fold
from ranks.models import Rank
from tags.models import CustomerTag, Tag
from wholesale import services as wholesale_services
from wholesale.models import ApplicationEvent, WholesaleApplication
from wholesale.tax_id import check_digit

VI_LAST = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
VI_FIRST = [
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hoa",
    "Hùng",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Minh",
    "Nam",
    "Ngọc",
    "Phúc",
    "Quân",
    "Quỳnh",
    "Sơn",
    "Tâm",
    "Thảo",
    "Thu",
    "Trang",
    "Trung",
    "Tuấn",
    "Vy",
    "Yến",
    "Đức",
    "Đạt",
]
VI_MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Quốc", "Đức", "Gia", ""]
EN_FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Amelia",
    "Oliver",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Isabella",
    "William",
    "Mia",
    "Lucas",
    "Charlotte",
    "Henry",
    "Grace",
    "Jack",
]
EN_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Taylor",
    "Anderson",
    "Thomas",
    "Moore",
    "Martin",
    "Clark",
]
CITIES = [
    ("Hồ Chí Minh", 40),
    ("Hà Nội", 30),
    ("Đà Nẵng", 10),
    ("Hải Phòng", 6),
    ("Cần Thơ", 5),
    ("Nha Trang", 4),
    ("Huế", 3),
    ("Vũng Tàu", 2),
]
RANKS = [
    ("Member", "member", 0, "grey", "Welcome gift; birthday voucher"),
    ("Silver", "silver", 2_000_000, "silver", "5% off; free delivery over 500k"),
    ("Gold", "gold", 10_000_000, "gold", "8% off; priority support"),
    ("Platinum", "platinum", 30_000_000, "platinum", "10% off; lounge access"),
    ("Diamond", "diamond", 80_000_000, "diamond", "15% off; personal shopper"),
]
TAGS = [
    ("VIP", "gold"),
    ("Followed OA", "blue"),
    ("App user", "teal"),
    ("Newsletter", "green"),
    ("Birthday this month", "pink"),
    ("Lapsed", "grey"),
    ("Big spender", "purple"),
    ("Wholesale lead", "orange"),
    ("Complaint", "red"),
    ("Tourist", "yellow"),
    ("Student", "teal"),
    ("Corporate", "blue"),
]
REWARDS = [
    ("voucher-50k", "Voucher 50.000đ", 500),
    ("voucher-200k", "Voucher 200.000đ", 1800),
    ("free-coffee", "Free coffee", 150),
    ("tote-bag", "Tote bag", 900),
    ("spa-day", "Spa day", 6000),
]
TASKS = [
    "Complete your profile",
    "First purchase",
    "Refer a friend",
    "Follow the official account",
    "Buy 5 times in a month",
    "Write a review",
]


def custom_field_definitions() -> list[CustomFieldDefinition]:
    """The demo's custom fields (unsaved); the benchmark data set uses the same ones."""
    return [
        CustomFieldDefinition(
            key="favourite_category",
            label="Favourite category",
            field_type="choice",
            choices=["Fashion", "Beauty", "Home", "Food", "Electronics"],
            position=1,
        ),
        CustomFieldDefinition(key="shoe_size", label="Shoe size", field_type="number", position=2),
        CustomFieldDefinition(
            key="anniversary", label="Wedding anniversary", field_type="date", position=3
        ),
        CustomFieldDefinition(
            key="newsletter", label="Newsletter opt-in", field_type="boolean", position=4
        ),
        CustomFieldDefinition(key="company", label="Company", field_type="text", position=5),
    ]


def _weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


TASK_POINTS = 50


@transaction.atomic
def seed_demo(customers: int = 3000, seed: int = 20261122) -> dict:
    """Create the demo data set; returns how many of each thing were made."""
    rng = random.Random(seed)
    now = timezone.now()

    stores = [
        Store.objects.create(code=f"store-{i:02d}", name=f"{city} {label}", city=city)
        for i, (city, label) in enumerate(
            [(c, n) for c, _ in CITIES for n in ("Central", "Mall")][:12], start=1
        )
    ]
    ranks = [
        Rank.objects.create(
            name=n, code=c, level=i, threshold=t, colour=col, benefits=b, is_default=(i == 1)
        )
        for i, (n, c, t, col, b) in enumerate(RANKS, start=1)
    ]
    tags = [
        Tag.objects.create(name=name, slug=name.lower().replace(" ", "-"), colour=colour)
        for name, colour in TAGS
    ]
    rewards = [Reward.objects.create(code=c, name=n, points_cost=p) for c, n, p in REWARDS]
    CustomFieldDefinition.objects.bulk_create(custom_field_definitions())

    people = []
    used_emails, used_phones = set(), set()
    for index in range(customers):
        vietnamese = rng.random() < 0.8
        if vietnamese:
            last, first = rng.choice(VI_LAST), rng.choice(VI_FIRST)
            middle = rng.choice(VI_MIDDLE)
            first_name = f"{middle} {first}".strip()
        else:
            last, first_name = rng.choice(EN_LAST), rng.choice(EN_FIRST)
        member_number = f"M{index + 1:010d}"
        email = None
        if rng.random() < 0.85:
            base = fold(f"{first_name.split()[-1]}.{last}").replace(" ", "")
            email = f"{base}{index}@{rng.choice(['gmail.com', 'yahoo.com', 'outlook.com', 'example.vn'])}"
        phone = None
        if rng.random() < 0.9:
            phone = f"+849{rng.randrange(10_000_000, 99_999_999)}"
            if phone in used_phones:
                phone = None
            else:
                used_phones.add(phone)
        if email:
            used_emails.add(email)
        joined = now - timedelta(days=rng.randrange(0, 3 * 365), minutes=rng.randrange(0, 1440))
        custom = {}
        if rng.random() < 0.6:
            custom["favourite_category"] = rng.choice(
                ["Fashion", "Beauty", "Home", "Food", "Electronics"]
            )
        if rng.random() < 0.3:
            custom["shoe_size"] = rng.randrange(35, 46)
        if rng.random() < 0.4:
            custom["newsletter"] = rng.random() < 0.7
        old_id = f"OLD-{rng.randrange(100000, 999999)}-{index}" if rng.random() < 0.4 else None
        people.append(
            Customer(
                member_number=member_number,
                old_member_id=old_id,
                first_name=first_name,
                last_name=last,
                email=email,
                phone=phone,
                gender=rng.choice(["female", "male", "female", "male", "undisclosed"]),
                city=_weighted(rng, CITIES),
                country="VN",
                customer_type="wholesale" if rng.random() < 0.05 else "retail",
                status=_weighted(rng, [("active", 90), ("inactive", 8), ("blocked", 2)]),
                preferred_store=rng.choice(stores) if rng.random() < 0.7 else None,
                referral_source=rng.choice(
                    [c[0] for c in Customer.ReferralSource.choices if c[0] != "import"]
                ),
                joined_at=joined,
                last_access_at=joined
                + timedelta(days=rng.randrange(0, max(1, (now - joined).days + 1)))
                if rng.random() < 0.8
                else None,
                followed_oa_at=min(joined + timedelta(days=rng.randrange(0, 30)), now)
                if rng.random() < 0.35
                else None,
                app_last_seen_at=now - timedelta(days=rng.randrange(0, 120))
                if rng.random() < 0.5
                else None,
                date_of_birth=(now - timedelta(days=rng.randrange(18 * 365, 70 * 365))).date()
                if rng.random() < 0.7
                else None,
                custom_fields=custom,
                search_text=build_search_text(
                    email=email,
                    phone=phone,
                    member_number=member_number,
                    old_member_id=old_id,
                    first_name=first_name,
                    last_name=last,
                ),
            )
        )
    Customer.objects.bulk_create(people, batch_size=1000)
    people = list(Customer.objects.order_by("pk"))

    orders, points, redemptions, tasks, links = [], [], [], [], []
    order_number = 0
    for customer in people:
        spent, balance, lifetime, count, last_order = Decimal(0), 0, 0, 0, None
        # The member's history as dated events, written in time order, so that every ledger
        # entry's balance follows from the one before and nothing lies in the future.
        events = []
        days = max(1, (now - customer.joined_at).days)
        if rng.random() < 0.6:
            for _ in range(rng.choice([1, 1, 2, 3, 5, 8, 13])):
                at = customer.joined_at + timedelta(
                    days=rng.randrange(0, days), hours=rng.randrange(8, 21)
                )
                events.append((min(at, now), "order"))
        done = None
        if rng.random() < 0.3:
            done = rng.random() < 0.5
            if done:
                events.append((min(customer.joined_at + timedelta(days=3), now), "task"))
        heapq.heapify(events)
        while events:
            at, kind = heapq.heappop(events)
            if kind == "task":
                balance += TASK_POINTS
                lifetime += TASK_POINTS
                points.append(
                    PointsTransaction(
                        customer=customer,
                        delta=TASK_POINTS,
                        reason="task",
                        balance_after=balance,
                        reference="task",
                        created_at=at,
                    )
                )
            elif kind == "redemption":
                affordable = [reward for reward in rewards if reward.points_cost <= balance]
                if not affordable:
                    continue
                reward = rng.choice(affordable)
                balance -= reward.points_cost
                redemptions.append(
                    RewardRedemption(
                        customer=customer,
                        reward=reward,
                        redeemed_at=at,
                        points_spent=reward.points_cost,
                        store=rng.choice(stores),
                    )
                )
                points.append(
                    PointsTransaction(
                        customer=customer,
                        delta=-reward.points_cost,
                        reason="redemption",
                        balance_after=balance,
                        reference=reward.code,
                        created_at=at,
                    )
                )
            else:
                order_number += 1
                total = Decimal(rng.randrange(50, 5000) * 1000)
                number = f"SO{order_number:08d}"
                orders.append(
                    Order(
                        number=number,
                        customer=customer,
                        store=rng.choice(stores),
                        placed_at=at,
                        total=total,
                    )
                )
                earned = int(total / 10000)
                balance += earned
                lifetime += earned
                spent += total
                count += 1
                last_order = at
                points.append(
                    PointsTransaction(
                        customer=customer,
                        delta=earned,
                        reason="purchase",
                        balance_after=balance,
                        reference=number,
                        created_at=at,
                    )
                )
                # Now and then the member spends points on a reward some days later.
                redeem_at = at + timedelta(days=rng.randrange(1, 30))
                if balance > 200 and rng.random() < 0.25 and redeem_at < now:
                    heapq.heappush(events, (redeem_at, "redemption"))
        if done is not None:
            tasks.append(
                CustomerTask(
                    customer=customer,
                    name=rng.choice(TASKS),
                    status="completed" if done else "in_progress",
                    progress=100 if done else rng.randrange(0, 100),
                    points_awarded=TASK_POINTS if done else 0,
                    started_at=customer.joined_at,
                    completed_at=min(customer.joined_at + timedelta(days=3), now) if done else None,
                )
            )
        customer.total_spent, customer.points_balance, customer.lifetime_points = (
            spent,
            balance,
            lifetime,
        )
        customer.order_count, customer.last_order_at = count, last_order
        qualified = [rank for rank in ranks if spent >= rank.threshold]
        customer.rank = qualified[-1]
        for tag in rng.sample(tags, k=rng.choice([0, 0, 1, 1, 2, 3])):
            links.append(CustomerTag(customer=customer, tag=tag, source="manual"))
    Order.objects.bulk_create(orders, batch_size=2000)
    PointsTransaction.objects.bulk_create(points, batch_size=2000)
    RewardRedemption.objects.bulk_create(redemptions, batch_size=2000)
    CustomerTask.objects.bulk_create(tasks, batch_size=2000)
    CustomerTag.objects.bulk_create(links, batch_size=2000)
    consents = [
        MarketingConsent(
            customer=customer,
            channel=channel,
            granted=rng.random() < 0.8,
            changed_at=customer.joined_at,
            source=rng.choice(["form", "counter", "import"]),
        )
        for customer in people
        for channel in MarketingConsent.Channel
        if rng.random() < 0.55
    ]
    MarketingConsent.objects.bulk_create(consents, batch_size=2000)
    Customer.objects.bulk_update(
        people,
        [
            "total_spent",
            "points_balance",
            "lifetime_points",
            "order_count",
            "last_order_at",
            "rank",
        ],
        batch_size=1000,
    )
    return {
        "customers": len(people),
        "orders": len(orders),
        "points": len(points),
        "redemptions": len(redemptions),
        "tasks": len(tasks),
        "tags": len(links),
        "consents": len(consents),
    }


def seed_audiences(owner=None) -> list[Audience]:
    """Two demo audiences on the demo data: a dynamic segment and a static snapshot."""
    gold = Rank.objects.filter(code="gold").first()
    rule = f"rank={gold.pk}&reachable=email" if gold else "reachable=email"
    dynamic = Audience(
        name="Gold members reachable by email",
        description="For the year-end gold campaign.",
        rule=rule,
    )
    save_audience(audience=dynamic, actor=owner)
    static, _job = create_static_from_rule(
        name="Hà Nội shoppers, November snapshot",
        description="Who had bought in Hà Nội when the November mailing went out.",
        rule="city=Hà Nội&purchased_days=365",
        actor=owner,
    )
    return [dynamic, static]


# (business, contact, city, business type, expected monthly value in VND, days since applying)
WHOLESALE_APPLICANTS = [
    ("Tạp hoá Minh Anh", "Nguyễn Minh Anh", "Hà Nội", "shop", 45_000_000, 0),
    ("Nhà hàng Sen Vàng", "Trần Thị Hương", "Đà Nẵng", "restaurant", 80_000_000, 1),
    ("Siêu thị mini Phúc Lộc", "Lê Văn Phúc", "TP. Hồ Chí Minh", "shop", 120_000_000, 3),
    ("Khách sạn Biển Xanh", "Phạm Quốc Bảo", "Nha Trang", "restaurant", 60_000_000, 4),
    ("Văn phòng phẩm Hoà Bình", "Võ Thị Lan", "Huế", "office", 12_000_000, 2),
    ("Cà phê Góc Phố", "Đặng Hoài Nam", "Hà Nội", "restaurant", 25_000_000, 6),
    ("Đại lý Thành Công", "Bùi Văn Thành", "Cần Thơ", "distributor", 200_000_000, 9),
    ("Bếp ăn Ánh Dương", "Huỳnh Thị Mai", "Hải Phòng", "restaurant", 35_000_000, 12),
]
DEMO_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _demo_tax_id(n: int) -> str:
    base = 310_000_000 + n * 7_919
    while check_digit(f"{base:09d}") is None:
        base += 1
    return f"{base:09d}{check_digit(f'{base:09d}')}"


def seed_wholesale(reviewer=None) -> list[WholesaleApplication]:
    """A review queue through the real workflow: pending ones of several ages (some past the
    SLA), one waiting for information, one approved, one rejected. Emails go nowhere."""
    from django.core.files.base import ContentFile
    from django.test.utils import override_settings

    dummy = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}
    now = timezone.now()
    made = []
    with override_settings(MAILERS=dummy):
        for n, (business, contact, city, kind, value, days) in enumerate(WHOLESALE_APPLICANTS):
            data = {
                "business_name": business,
                "contact_name": contact,
                "phone": f"+8498{n:07d}",
                "email": f"{fold(business).replace(' ', '.')}@example.vn",
                "tax_id": _demo_tax_id(n),
                "address": f"{10 + n * 3} Trần Hưng Đạo",
                "city": city,
                "business_type": kind,
                "expected_monthly_value": Decimal(value),
                "message": "",
                "consent": True,
            }
            files = [("licence", ContentFile(DEMO_PDF, name="giay-phep.pdf"))] if n % 4 else []
            application = wholesale_services.submit_application(data=data, files=files)
            submitted = now - timedelta(days=days, hours=3 * n)
            WholesaleApplication.objects.filter(pk=application.pk).update(submitted_at=submitted)
            ApplicationEvent.objects.filter(application=application).update(created_at=submitted)
            made.append(application)
        if reviewer is not None:
            wholesale_services.approve(application=made[6], actor=reviewer)
            wholesale_services.reject(
                application=made[7],
                actor=reviewer,
                reason="A canteen of this size buys through the retail programme.",
            )
            wholesale_services.request_info(
                application=made[0], actor=reviewer, needed="A photo of the business licence."
            )
    return made


TRAVELLERS = [
    ("KR", "KIM Min-jun"),
    ("KR", "LEE Seo-yeon"),
    ("KR", "PARK Ji-hoon"),
    ("KR", "CHOI Yu-na"),
    ("JP", "SATO Yuki"),
    ("JP", "SUZUKI Haruto"),
    ("JP", "TAKAHASHI Aoi"),
    ("CN", "WANG Fang"),
    ("CN", "LI Wei"),
    ("CN", "ZHANG Min"),
    ("TW", "CHEN Yi-ting"),
    ("US", "SMITH John"),
    ("US", "JOHNSON Emily"),
    ("AU", "BROWN Olivia"),
    ("GB", "TAYLOR James"),
    ("FR", "MARTIN Camille"),
    ("DE", "MÜLLER Lukas"),
    ("TH", "SUKSAWAT Niran"),
    ("SG", "TAN Wei Ling"),
    ("IN", "SHARMA Priya"),
    ("RU", "IVANOV Dmitri"),
    ("MY", "AHMAD Nur Aisyah"),
]


def seed_cards(clerk=None) -> int:
    """Tourist-card stock and a month of counter activations through the real services: some
    cards expired, one extended, one voided, one replaced and one converted."""
    store = Store.objects.order_by("pk").first()
    batch = card_services.generate_batch(
        name="Airport desk stock",
        prefix="9704",
        size=300,
        validity_days=30,
        store=store,
        actor=None,
    )
    stock = iter(batch.cards.order_by("number").values_list("number", flat=True))
    today = timezone.localdate()
    made = []
    for n, (nationality, name) in enumerate(TRAVELLERS * 2):
        # The first ones came in about two months ago, so their cards have since expired.
        days_ago = 60 - n if n < 6 else (n * 5) % 29
        desk_day = today - timedelta(days=days_ago)
        arrival = desk_day - timedelta(days=n % 3)
        traveller = {
            "passport_number": f"{nationality}{7_100_000 + n * 37:07d}",
            "nationality": nationality,
            "full_name": name,
            "date_of_birth": None,
            "arrival": arrival,
            "departure": desk_day + timedelta(days=4 + n % 10),
            "phone": "",
            "email": "",
        }
        card = card_services.activate(
            number=next(stock), traveller=traveller, store=store, actor=clerk, today=desk_day
        )
        when = timezone.now() - timedelta(days=days_ago, hours=n % 7)
        TouristCard.objects.filter(pk=card.pk).update(activated_at=when)
        Customer.objects.filter(pk=card.customer_id, joined_at__gt=when).update(joined_at=when)
        CardEvent.objects.filter(card=card).update(created_at=when)
        made.append(card)
    card_services.expire_due()
    active = list(TouristCard.objects.filter(status=CardStatus.ACTIVE).order_by("number"))
    card_services.extend(
        card=active[0],
        valid_until=active[0].valid_until + timedelta(days=14),
        actor=clerk,
        reason="Flight moved by two weeks.",
    )
    card_services.void(card=active[1], actor=clerk, reason="Stolen: reported at the desk")
    card_services.replace(
        card=active[2], new_number=next(stock), actor=clerk, reason="Lost on the beach"
    )
    card_services.convert(card=active[3], actor=clerk)
    return len(made)
