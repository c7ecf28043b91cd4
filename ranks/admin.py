from django.contrib import admin

from core.admin_io import ReferenceDataAdmin, SafeResource
from ranks.models import Rank
from ranks.services import validate_ladder


class RankResource(SafeResource):
    class Meta:
        model = Rank
        import_id_fields = ["code"]
        fields = [
            "code",
            "name",
            "level",
            "threshold",
            "benefits",
            "points_multiplier",
            "colour",
            "is_default",
        ]

    def after_import(self, dataset, result, **kwargs):
        """The imported ladder must hold the rules the rank form enforces; if not, the whole
        import rolls back with the reason."""
        super().after_import(dataset, result, **kwargs)
        validate_ladder(list(Rank.objects.all()))


@admin.register(Rank)
class RankAdmin(ReferenceDataAdmin):
    resource_classes = [RankResource]
    list_display = ["level", "code", "name", "threshold", "is_default"]
    ordering = ["level"]
