from django import forms
from django.test import SimpleTestCase

from core.forms import (
    BootstrapFormMixin,
    FastSelect,
    FastSelectMultiple,
    field_html,
)


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

    def test_select_subclasses_render_in_python_as_django_does(self):
        class Flags(BootstrapFormMixin, forms.Form):
            newsletter = forms.NullBooleanField(required=False)

        form = Flags({"newsletter": "false"})
        widget = form.fields["newsletter"].widget
        assert type(widget).__name__ == "FastNullBooleanSelect"
        reference = forms.NullBooleanSelect(attrs=widget.attrs)
        self.assertHTMLEqual(
            widget.render("newsletter", "false", {"id": "id_newsletter"}),
            reference.render("newsletter", "false", {"id": "id_newsletter"}),
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


class Layout(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label="Name <b>", help_text="As on the card & ID")
    agree = forms.BooleanField(label="I agree", required=False)
    note = forms.CharField(required=False, widget=forms.HiddenInput)


class FieldHtmlTests(SimpleTestCase):
    def test_label_widget_and_help_text_the_widget_points_to(self):
        html = field_html(Layout()["name"])
        self.assertInHTML(
            '<label class="form-label required" for="id_name">Name &lt;b&gt;</label>', html
        )
        self.assertInHTML(
            '<div class="form-text" id="id_name_helptext">As on the card &amp; ID</div>', html
        )
        assert 'aria-describedby="id_name_helptext"' in html

    def test_errors_are_shown_with_the_id_the_widget_points_to(self):
        form = Layout({"name": ""})
        form.is_valid()
        html = field_html(form["name"])
        assert 'aria-describedby="id_name_helptext id_name_error"' in html
        self.assertInHTML(
            '<div id="id_name_error"><div class="invalid-feedback d-block">'
            "This field is required.</div></div>",
            html,
        )
        assert "is-invalid" in html

    def test_checkbox_and_hidden_fields(self):
        form = Layout()
        self.assertInHTML(
            '<div class="form-check mb-3"><input type="checkbox" name="agree" '
            'class="form-check-input" id="id_agree">'
            '<label class="form-check-label" for="id_agree">I agree</label></div>',
            field_html(form["agree"]),
        )
        self.assertHTMLEqual(
            field_html(form["note"]),
            '<input type="hidden" name="note" class="form-control" id="id_note">',
        )

    def test_a_range_is_a_fieldset_with_a_legend(self):
        from django_filters.fields import RangeField

        class Ranged(BootstrapFormMixin, forms.Form):
            points = RangeField(label="Points", required=False)

        html = field_html(Ranged()["points"])
        assert html.startswith('<fieldset class="mb-3"><legend class="form-label fs-6 mb-1">Points')
        assert html.count("<input") == 2
