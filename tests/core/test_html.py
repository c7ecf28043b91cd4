"""core.html gives Django's output for escape, conditional_escape and flatatt."""

import pytest
from django.forms.utils import flatatt as django_flatatt
from django.utils import html as django_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from core import html

VALUES = [
    "plain",
    "<script>alert('x')</script>",
    'say "hi" & <b>bye</b>',
    "Nguyễn Thị Ánh",
    "",
    0,
    12.5,
    None,
    gettext_lazy("Select"),
    mark_safe("<em>already markup</em>"),
]


@pytest.mark.parametrize("value", VALUES)
def test_escape_and_conditional_escape_match_django(value):
    assert html.escape(value) == django_html.escape(value)
    assert html.conditional_escape(value) == django_html.conditional_escape(value)


def test_escape_escapes_markup_that_conditional_escape_keeps():
    markup = mark_safe("<em>x</em>")
    assert html.escape(markup) == "&lt;em&gt;x&lt;/em&gt;"
    assert html.conditional_escape(markup) == "<em>x</em>"


@pytest.mark.parametrize(
    "attrs",
    [
        {},
        {"class": "form-control", "id": "id_q", "placeholder": 'Name "or" <phone>'},
        {"required": True, "disabled": False, "multiple": True, "autofocus": True},
        {"maxlength": 20, "title": None, "data-url": mark_safe("/a?b=1&amp;c=2")},
        {"aria-label": gettext_lazy("Select"), "z": "last", "a": "first", "checked": True},
    ],
)
def test_flatatt_matches_django(attrs):
    assert html.flatatt(attrs) == django_flatatt(attrs)
