"""Counting attempts per key in fixed windows, in the cache every process shares."""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def _bucket(scope: str, key: str, window: int) -> str:
    # The key (an address, a phone number) is hashed so that no personal value sits in the cache.
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{key}".encode()).hexdigest()[:32]
    return f"rate:{scope}:{digest}:{int(time.time() // window)}"


def allow(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one attempt for `key`; False once more than `limit` fell in the current window."""
    bucket = _bucket(scope, key, window)
    if cache.add(bucket, 1, timeout=window):
        return limit >= 1
    try:
        return cache.incr(bucket) <= limit
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=window)
        return limit >= 1
