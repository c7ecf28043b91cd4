"""The dashboard's figures, composed from the domain apps' cached selectors."""

from core.palette import CHART_HEX
from customers.selectors import member_figures
from ranks.models import Rank
from ranks.selectors import members_per_rank


def dashboard_figures() -> dict:
    members = member_figures()
    per_rank = members_per_rank()
    counts = per_rank["counts"]
    ranks = list(Rank.objects.all())
    unranked = counts.get(None, 0)
    return {
        **members,
        "total": sum(counts.values()),
        "computed_at": min(members["computed_at"], per_rank["computed_at"]),
        "rank_chart": {
            "labels": [rank.name for rank in ranks] + (["—"] if unranked else []),
            "values": [counts.get(rank.pk, 0) for rank in ranks] + ([unranked] if unranked else []),
            "colours": [CHART_HEX[rank.colour] for rank in ranks] + ["#adb5bd"],
        },
    }
