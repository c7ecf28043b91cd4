#!/usr/bin/env bash
# `make bench`: the benchmark on PostgreSQL. Uses DATABASE_URL when it names a PostgreSQL
# database; otherwise starts (and keeps, so the seeded data is reused) a local cluster in
# BENCH_PGDATA. Runs with production settings: DEBUG off, manifest static files.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${DATABASE_URL:-}" != postgres* ]]; then
  BENCH_PGDATA=${BENCH_PGDATA:-/var/tmp/loyalty-bench-pg}
  BENCH_PGPORT=${BENCH_PGPORT:-55433}
  bash scripts/pg_cluster.sh start "$BENCH_PGDATA" "$BENCH_PGPORT"
  bash scripts/pg_cluster.sh createdb "$BENCH_PGPORT" loyalty_bench
  export DATABASE_URL="postgres://postgres@127.0.0.1:$BENCH_PGPORT/loyalty_bench"
  echo "Benchmark database: $DATABASE_URL (kept in $BENCH_PGDATA; stop it with"
  echo "  bash scripts/pg_cluster.sh stop $BENCH_PGDATA)"
fi

export DEBUG=false LOYALTY_TESTING= SECURE_SSL_REDIRECT=false ALLOWED_HOSTS=testserver
export SECRET_KEY=${SECRET_KEY:-$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(50))")}
export LOG_LEVEL=WARNING
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py collectstatic --no-input -v 0
exec .venv/bin/python manage.py bench "$@"
