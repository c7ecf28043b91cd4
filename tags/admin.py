from django.contrib import admin

from core.admin_io import ReferenceDataAdmin, SafeResource
from tags.models import Tag


class TagResource(SafeResource):
    class Meta:
        model = Tag
        import_id_fields = ["slug"]
        fields = ["slug", "name", "colour", "description", "kind", "rule"]


@admin.register(Tag)
class TagAdmin(ReferenceDataAdmin):
    resource_classes = [TagResource]
    list_display = ["name", "slug", "kind"]
    search_fields = ["name", "slug"]
