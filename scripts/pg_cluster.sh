#!/usr/bin/env bash
# A local PostgreSQL cluster from the installed binaries, run as the `postgres` user.
#   scripts/pg_cluster.sh start DIR PORT   initialise DIR when empty, then start it
#   scripts/pg_cluster.sh createdb PORT NAME  create database NAME unless it exists
#   scripts/pg_cluster.sh stop DIR         stop it (immediate; the data stays in DIR)
# fsync is off: these clusters hold tests and benchmarks, never data anyone needs.
set -euo pipefail

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PG_BIN" ]; then
  echo "PostgreSQL server binaries are missing: apt-get install postgresql" >&2
  exit 1
fi

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

command=$1 dir=${2:-}
case "$command" in
  start)
    port=$3
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >/dev/null
    fi
    if ! as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=1GB \
            -c maintenance_work_mem=1GB -c work_mem=32MB -c max_wal_size=8GB \
            -c effective_cache_size=8GB -c random_page_cost=1.1" \
        start >/dev/null
    fi
    ;;
  createdb)
    port=$2 name=$3
    if ! as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -Atc \
        "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
      as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name"
    fi
    ;;
  stop)
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start DIR PORT | createdb PORT NAME | stop DIR" >&2
    exit 2
    ;;
esac
