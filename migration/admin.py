from django.contrib import admin

from migration.models import MappingProfile


@admin.register(MappingProfile)
class MappingProfileAdmin(admin.ModelAdmin):
    """Saved column mappings: rename or delete them here (they are created in the wizard)."""

    list_display = ["name", "match_key", "created_by", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_by", "created_at"]
