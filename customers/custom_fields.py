"""Custom-field values as they are stored in `Customer.custom_fields` (JSON) and read back."""

import datetime
from decimal import Decimal

from customers.models import CustomFieldDefinition


def to_json_value(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def from_json_value(definition: CustomFieldDefinition, value):
    if value is None:
        return None
    if definition.field_type == CustomFieldDefinition.FieldType.DATE:
        try:
            return datetime.date.fromisoformat(value)
        except (TypeError, ValueError):
            return None
    return value
