from django import forms
from django.test import SimpleTestCase

from core.forms import (
    BootstrapFormMixin,
    FastSelect,
    FastSelectMultiple,
    FilterCopiesMixin,
    FilterForm,
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


def _built(parent, **fields):
    """A form class as django-filter builds one for a filter set (FreshFieldsMixin marks it)."""
    names = frozenset(fields)  # the form metaclass takes the fields out of the dict it gets
    built = type("BuiltForm", (parent,), fields)
    built.fresh_fields = names
    return built


def test_a_filter_forms_first_instance_takes_its_fresh_fields_and_a_second_copies_them():
    built = _built(FilterForm, q=forms.CharField(required=False))
    first, second = built({"q": "an"}), built({"q": "bình"})
    assert first.fields["q"] is built.base_fields["q"]
    assert second.fields["q"] is not built.base_fields["q"]
    assert first.is_valid() and second.is_valid()
    assert (first.cleaned_data["q"], second.cleaned_data["q"]) == ("an", "bình")


def test_a_filter_form_copies_fields_not_named_fresh():
    class Declared(FilterForm):
        shared = forms.IntegerField(required=False)

    built = _built(Declared, own=forms.CharField(required=False))
    form = built({"shared": "x", "own": "y"})
    assert form.fields["shared"] is not Declared.base_fields["shared"]
    assert form.fields["own"] is built.base_fields["own"]
    assert not form.is_valid()  # the error marks the form's copy of the widget, not the parent's
    assert "is-invalid" in form.fields["shared"].widget.attrs["class"]
    assert "is-invalid" not in Declared.base_fields["shared"].widget.attrs.get("class", "")
    # A class nobody marked (declared in code, used form after form) always copies.
    assert Declared().fields["shared"] is not Declared.base_fields["shared"]


def _noted_filter_set():
    import django_filters
    from django.contrib.auth.models import Group

    class Noted(FilterCopiesMixin, django_filters.FilterSet):
        name = django_filters.CharFilter(method="filter_name")
        kind = django_filters.ChoiceFilter(choices=[("a", "A")])

        class Meta:
            model = Group
            fields: list[str] = []

        def filter_name(self, queryset, name, value):
            self.filtered_by = value
            return queryset

    return Noted


def test_each_filter_set_has_its_own_filters_and_fields():
    noted = _noted_filter_set()
    on_the_class = noted.base_filters["kind"].field  # built there, it is not handed on
    first, second = noted({"kind": "a"}), noted({})
    for name in ("name", "kind"):
        mine, theirs = first.filters[name], second.filters[name]
        assert mine is not theirs and mine is not noted.base_filters[name]
        assert mine.extra is not theirs.extra and mine.parent is first
        assert mine.field is not theirs.field
    assert first.filters["kind"].field is not on_the_class
    first.filters["kind"].extra["choices"] = [("b", "B")]  # as a view sets a request's choices
    assert second.filters["kind"].extra["choices"] == [("a", "A")]
    assert noted({}).filters["kind"].extra["choices"] == [("a", "A")]


def test_a_filter_method_runs_on_its_own_filter_set():
    from django.contrib.auth.models import Group

    noted = _noted_filter_set()
    first, second = noted({"name": "one"}, Group.objects.none()), noted({"name": "two"})
    for filter_set in (first, second):
        assert filter_set.qs is not None  # runs its filters
    assert (first.filtered_by, second.filtered_by) == ("one", "two")
    assert not hasattr(noted.base_filters["name"], "parent")
