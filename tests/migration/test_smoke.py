from customers.models import Customer


def test_smoke(import_file):
    job = import_file(
        [
            ["Mã thành viên cũ", "Họ tên", "Số điện thoại", "Email", "Điểm"],
            ["L1", "Nguyễn Văn An", "0912 345 678", "AN@example.com", "1.500"],
            ["L2", "Trần Thị Bình", "0913345678", "binh@example.com", "20"],
        ]
    )
    print(job.error, job.mapping, job.preview)
    assert job.status == "done", job.error
    assert job.created_count == 2
    an = Customer.objects.get(old_member_id="L1")
    assert an.phone == "+84912345678" and an.email == "an@example.com"
    assert an.points_balance == 1500 and an.last_name == "Nguyễn"
