from django.apps import AppConfig


class BenchConfig(AppConfig):
    """`manage.py bench`: the 1M-customer benchmark against the peers (no models, no URLs)."""

    name = "bench"
    verbose_name = "Benchmark"
