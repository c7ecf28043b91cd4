"""Amounts of money as people read them: grouped, whole units, with the configured currency."""

from decimal import Decimal

from django.conf import settings


def money(value) -> str:
    """ "1,234,000 ₫" (CURRENCY_SYMBOL after the amount) or "$1,234" (CURRENCY_PREFIX true)."""
    if value in (None, ""):
        return "—"
    amount = f"{Decimal(value):,.0f}"
    symbol = settings.CURRENCY_SYMBOL
    if not symbol:
        return amount
    return f"{symbol}{amount}" if settings.CURRENCY_PREFIX else f"{amount}\u00a0{symbol}"
