"""Calendar days as ranges of aware datetimes, so a day filter can use a datetime index."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_end(day: date) -> datetime:
    """Midnight after `day`: the exclusive upper bound of that day."""
    return day_start(day + timedelta(days=1))
