"""django-import-export on the Django admin's reference data, made safe.

Who may import or export is the model's add / view permission (settings
IMPORT_EXPORT_IMPORT_PERMISSION_CODE / _EXPORT_), and every exported text cell goes through our
own formula escaping — django-import-export's is off by default and misses tab, CR and NUL.
Customers are not here: they go through the migration app's engine, which is many times faster
and validates like the customer form.
"""

from import_export import resources, widgets
from import_export.admin import ImportExportModelAdmin

from core.xlsx_safety import escape_csv


class SafeResource(resources.ModelResource):
    """A ModelResource whose exported text can never become a formula."""

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(value, str) and not isinstance(field.widget, widgets.NumberWidget):
            return escape_csv(value)  # an apostrophe only where a formula could start
        return value


class ReferenceDataAdmin(ImportExportModelAdmin):
    """Admin for a reference table with import and export of its rows."""
