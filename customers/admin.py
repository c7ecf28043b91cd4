from django.contrib import admin

from core.admin_io import ReferenceDataAdmin, SafeResource
from customers.models import CustomFieldDefinition, Reward, Store


class StoreResource(SafeResource):
    class Meta:
        model = Store
        import_id_fields = ["code"]
        fields = ["code", "name", "city", "address", "is_active"]


class RewardResource(SafeResource):
    class Meta:
        model = Reward
        import_id_fields = ["code"]
        fields = ["code", "name", "points_cost", "is_active"]


class CustomFieldResource(SafeResource):
    class Meta:
        model = CustomFieldDefinition
        import_id_fields = ["key"]
        fields = ["key", "label", "field_type", "choices", "required", "position", "is_active"]


@admin.register(Store)
class StoreAdmin(ReferenceDataAdmin):
    resource_classes = [StoreResource]
    list_display = ["code", "name", "city", "is_active"]
    search_fields = ["code", "name", "city"]


@admin.register(Reward)
class RewardAdmin(ReferenceDataAdmin):
    resource_classes = [RewardResource]
    list_display = ["code", "name", "points_cost", "is_active"]
    search_fields = ["code", "name"]


@admin.register(CustomFieldDefinition)
class CustomFieldAdmin(ReferenceDataAdmin):
    resource_classes = [CustomFieldResource]
    list_display = ["key", "label", "field_type", "required", "is_active"]
