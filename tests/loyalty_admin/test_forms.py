from django import forms
from django.test import SimpleTestCase

from loyalty_admin.forms import BootstrapFormMixin, FastSelect, FastSelectMultiple


class Sample(BootstrapFormMixin, forms.Form):
    city = forms.ChoiceField(
        choices=[("", "—"), ("hn", "Hà Nội"), ("x", "<b>&amp;</b>")], required=False
    )
    stores = forms.MultipleChoiceField(
        choices=[("Groups", [("1", "One"), ("2", "Two")]), ("3", "Three")], required=False
    )


class FastSelectTests(SimpleTestCase):
    def test_renders_what_django_renders(self):
        form = Sample({"city": "x", "stores": ["2", "3"]})
        assert isinstance(form.fields["city"].widget, FastSelect)
        assert isinstance(form.fields["stores"].widget, FastSelectMultiple)
        for name, stock in (("city", forms.Select), ("stores", forms.SelectMultiple)):
            widget = form.fields[name].widget
            reference = stock(attrs=widget.attrs, choices=widget.choices)
            value = form[name].value()
            with self.subTest(name=name):
                self.assertHTMLEqual(
                    widget.render(name, value, {"id": f"id_{name}"}),
                    reference.render(name, value, {"id": f"id_{name}"}),
                )

    def test_labels_are_escaped(self):
        html = str(Sample()["city"])
        assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in html
        assert "<b>" not in html
