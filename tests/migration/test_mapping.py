"""Mapping suggestions: header spellings, and built-in profiles for other platforms' exports."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.models import Customer
from migration import fields as f
from migration.models import ImportJob
from tests.migration.conftest import csv_bytes

pytestmark = pytest.mark.django_db

SHOPIFY = [
    "Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
    "Default Address Company", "Default Address Address1", "Default Address Address2",
    "Default Address City", "Default Address Province Code", "Default Address Country Code",
    "Default Address Zip", "Default Address Phone", "Phone", "Accepts SMS Marketing",
    "Total Spent", "Total Orders", "Note", "Tax Exempt", "Tags",
]  # fmt: skip
ODOO = ["Name", "Email", "Phone", "Mobile", "Street", "City", "Country", "Reference", "Tags"]
KIOTVIET = [
    "Loại khách", "Mã khách hàng", "Tên khách hàng", "Điện thoại", "Địa chỉ",
    "Khu vực giao hàng", "Phường/Xã", "Công ty", "Mã số thuế", "Ngày sinh", "Giới tính",
    "Email", "Facebook", "Nhóm khách hàng", "Ghi chú", "Điểm hiện tại", "Tổng điểm",
    "Người tạo", "Ngày tạo", "Ngày giao dịch cuối", "Tổng bán", "Trạng thái",
]  # fmt: skip


def mapped(headers) -> tuple[dict[str, str], str]:
    mapping, profile = f.suggest(headers, [])
    return {headers[int(position)]: field for position, field in mapping.items()}, profile


def test_header_spellings_are_compared_as_the_headers_are():
    assert mapped(["E-mail", "Thẻ", "Số điện thoại"])[0] == {
        "E-mail": "email",
        "Thẻ": "tags",
        "Số điện thoại": "phone",
    }


def test_a_shopify_export_is_recognised_and_mapped():
    by_header, profile = mapped(SHOPIFY)
    assert profile == "Shopify customers"
    assert by_header == {
        "Customer ID": "old_member_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone": "phone",
        "Default Address Address1": "address",
        "Default Address City": "city",
        "Default Address Country Code": "country",
        "Tags": "tags",
    }


def test_an_odoo_export_maps_mobile_and_reference():
    by_header, profile = mapped(ODOO)
    assert profile == "Odoo contacts"
    assert by_header["Mobile"] == "phone" and by_header["Reference"] == "old_member_id"
    assert "Phone" not in by_header  # the phone field is the mobile's
    assert by_header["Name"] == "full_name" and by_header["Street"] == "address"


def test_a_kiotviet_export_imports_through_its_profile(tmp_path, capsys):
    row = [""] * len(KIOTVIET)
    values = {
        "Mã khách hàng": "KH000123",
        "Tên khách hàng": "Nguyễn Thị Mai",
        "Điện thoại": "0912345678",
        "Giới tính": "Nữ",
        "Điểm hiện tại": "120",
        "Trạng thái": "Đang hoạt động",
    }
    for header, value in values.items():
        row[KIOTVIET.index(header)] = value
    path = tmp_path / "DanhSachKhachHang.csv"
    path.write_bytes(csv_bytes([KIOTVIET, row]))
    call_command("import_customers", str(path))
    assert "Recognised: KiotViet customers" in capsys.readouterr().out
    customer = Customer.objects.get()
    assert (customer.old_member_id, customer.last_name, customer.first_name) == (
        "KH000123",
        "Nguyễn",
        "Thị Mai",
    )
    assert (customer.phone, customer.gender, customer.points_balance) == (
        "+84912345678",
        "female",
        120,
    )


def test_the_wizard_names_the_profile_it_used(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    row = ["1001", "Mai", "Nguyen", "mai@example.com"] + [""] * (len(SHOPIFY) - 4)
    admin_client.post(
        reverse("migration:upload"),
        {"file": SimpleUploadedFile("customers_export.csv", csv_bytes([SHOPIFY, row]))},
    )
    job = ImportJob.objects.get()
    assert job.mapped_by == "Shopify customers"
    page = admin_client.get(reverse("migration:map", args=[job.pk])).content.decode()
    assert "This looks like a Shopify customers export" in page


def test_an_ordinary_file_uses_no_profile():
    assert mapped(["Mã thành viên cũ", "Họ tên", "Email"]) == (
        {"Mã thành viên cũ": "old_member_id", "Họ tên": "full_name", "Email": "email"},
        "",
    )
