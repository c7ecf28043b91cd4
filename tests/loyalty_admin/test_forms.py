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


class Inputs(BootstrapFormMixin, forms.Form):
    name = forms.CharField(max_length=20, help_text="x")
    email = forms.EmailField(required=False)
    age = forms.IntegerField(min_value=0, required=False)
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False)
    secret = forms.CharField(widget=forms.HiddenInput, required=False)


class FastInputTests(SimpleTestCase):
    def test_inputs_render_what_django_renders(self):
        form = Inputs({"name": 'A "quoted" <name>', "age": "7", "day": "2026-11-23", "secret": "s"})
        stock_form = Inputs(
            {"name": 'A "quoted" <name>', "age": "7", "day": "2026-11-23", "secret": "s"}
        )
        for name in ("name", "email", "age", "day", "secret"):
            fast = form[name]
            assert type(fast.field.widget).__name__.startswith("Fast"), name
            stock_widget = stock_form.fields[name].widget
            # Render the same widget through Django's own template for comparison.
            attrs = fast.build_widget_attrs({"id": f"id_{name}"})
            stock_html = forms.Widget.render(stock_widget, name, fast.value(), attrs)
            with self.subTest(name=name):
                self.assertHTMLEqual(fast.as_widget(attrs={"id": f"id_{name}"}), stock_html)


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


class RangeTests(SimpleTestCase):
    def test_range_renders_both_inputs_with_their_values(self):
        from django_filters.fields import RangeField

        class Ranged(BootstrapFormMixin, forms.Form):
            points = RangeField(required=False)

        form = Ranged({"points_min": "5", "points_max": '"9'})
        html = str(form["points"])
        self.assertInHTML(
            '<input type="text" name="points_min" value="5" aria-invalid="true" '
            'class="form-control is-invalid" id="id_points_0">',
            html,
        )  # the invalid half marks the pair, and what was typed stays
        assert 'name="points_max" value="&quot;9"' in html
        assert html.count('<span class="input-group-text">–</span>') == 1
