"""The colour palette that ranks and tags choose from.

Colours are named, not free hex values, so templates use CSS classes and the Content Security
Policy never has to allow inline styles.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Colour(models.TextChoices):
    GREY = "grey", _("Grey")
    BLUE = "blue", _("Blue")
    GREEN = "green", _("Green")
    TEAL = "teal", _("Teal")
    YELLOW = "yellow", _("Yellow")
    ORANGE = "orange", _("Orange")
    RED = "red", _("Red")
    PINK = "pink", _("Pink")
    PURPLE = "purple", _("Purple")
    BRONZE = "bronze", _("Bronze")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")
    DIAMOND = "diamond", _("Diamond")


# Chart colours matching static/css/app.css, for Chart.js datasets.
CHART_HEX = {
    "grey": "#6c757d",
    "blue": "#0d6efd",
    "green": "#198754",
    "teal": "#20c997",
    "yellow": "#ffc107",
    "orange": "#fd7e14",
    "red": "#dc3545",
    "pink": "#d63384",
    "purple": "#6f42c1",
    "bronze": "#a0652b",
    "silver": "#8e9aa6",
    "gold": "#c9a227",
    "platinum": "#5f7c8a",
    "diamond": "#3aa6c9",
}
