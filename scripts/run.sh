#!/usr/bin/env bash
# Serve the demo: migrate the SQLite database, load demo data once, print the logins, then run
# the web server and a task worker together. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-true}"
PY=.venv/bin/python

$PY manage.py migrate --no-input
$PY manage.py seed_demo
$PY manage.py ensure_demo_staff

$PY manage.py db_worker --no-reload &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
$PY manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}"
