"""Built-in mapping profiles: the customer-export headers of the platforms teams migrate from.

Each profile maps a platform's documented export headers to our fields. When every header of a
profile's signature is in a file, the profile maps the file's columns (the best match wins);
the rest are suggested from the headers as usual. The wizard and `import_customers` name the
profile they used. Only headers that mean one of our fields are mapped: totals and order counts
come from the ledger, not from a file, and a platform's own customer id becomes the old member
ID, so a second import of the same export matches instead of duplicating.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class BuiltInProfile:
    name: str
    signature: tuple[str, ...]  # headers that, all present, identify the export
    columns: dict[str, str]  # header → field


PROFILES = (
    BuiltInProfile(
        _("Shopify customers"),
        ("Customer ID", "Default Address City"),
        {
            "Customer ID": "old_member_id",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Email": "email",
            "Phone": "phone",
            "Default Address Address1": "address",
            "Default Address City": "city",
            "Default Address Country Code": "country",
            "Tags": "tags",
        },
    ),
    # Shopify's older export, which Haravan's customer export follows.
    BuiltInProfile(
        _("Shopify (classic) / Haravan customers"),
        ("Accepts Marketing", "Total Orders", "Address1"),
        {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Email": "email",
            "Phone": "phone",
            "Address1": "address",
            "City": "city",
            "Country Code": "country",
            "Tags": "tags",
        },
    ),
    BuiltInProfile(
        _("WooCommerce customers"),
        ("billing_phone", "billing_city"),
        {
            "customer_id": "old_member_id",
            "first_name": "first_name",
            "last_name": "last_name",
            "email": "email",
            "date_registered": "joined_at",
            "billing_phone": "phone",
            "billing_address_1": "address",
            "billing_city": "city",
            "billing_country": "country",
        },
    ),
    BuiltInProfile(
        _("WooCommerce customer report"),
        ("Date registered", "Last active", "Total spend"),
        {
            "Email": "email",
            "Date registered": "joined_at",
            "Last active": "last_access_at",
            "Country / Region": "country",
            "City": "city",
        },
    ),
    BuiltInProfile(
        _("Magento customers"),
        ("_website", "firstname", "lastname"),
        {
            "email": "email",
            "firstname": "first_name",
            "lastname": "last_name",
            "dob": "date_of_birth",
            "gender": "gender",
            "created_at": "joined_at",
        },
    ),
    BuiltInProfile(
        _("Magento customer grid"),
        ("Customer Since", "Account Created in"),
        {
            "ID": "old_member_id",
            "Email": "email",
            "Phone": "phone",
            "Country": "country",
            "Customer Since": "joined_at",
            "Date of Birth": "date_of_birth",
            "Gender": "gender",
            "Street Address": "address",
            "City": "city",
        },
    ),
    BuiltInProfile(
        _("Odoo contacts"),
        ("Mobile", "Reference", "Street"),
        {
            "Reference": "old_member_id",
            "Name": "full_name",
            "Email": "email",
            "Mobile": "phone",
            "Street": "address",
            "City": "city",
            "Country": "country",
            "Tags": "tags",
        },
    ),
    BuiltInProfile(
        _("KiotViet customers"),
        ("Mã khách hàng", "Tên khách hàng", "Điểm hiện tại", "Khu vực giao hàng"),
        {
            "Mã khách hàng": "old_member_id",
            "Tên khách hàng": "full_name",
            "Điện thoại": "phone",
            "Địa chỉ": "address",
            "Ngày sinh": "date_of_birth",
            "Giới tính": "gender",
            "Email": "email",
            "Điểm hiện tại": "points_balance",
            "Ngày tạo": "joined_at",
            "Trạng thái": "status",
        },
    ),
    BuiltInProfile(
        _("Sapo customers"),
        ("Mã khách hàng", "Tên khách hàng", "Nhóm khách hàng", "Tỉnh/Thành phố"),
        {
            "Mã khách hàng": "old_member_id",
            "Tên khách hàng": "full_name",
            "Số điện thoại": "phone",
            "Email": "email",
            "Ngày sinh": "date_of_birth",
            "Giới tính": "gender",
            "Địa chỉ": "address",
            "Tỉnh/Thành phố": "city",
            "Tags": "tags",
            "Điểm hiện tại": "points_balance",
        },
    ),
)
