#!/usr/bin/env bash
# Serve the demo: create a development .env once, migrate the SQLite database, load demo data
# once, print the logins and the address, then run the web server and a task worker together.
# HOST and PORT choose the address (127.0.0.1:8000). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
export HOST PORT
export DEBUG="${DEBUG:-true}"

if [ ! -f .env ]; then
  key=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')
  cat >.env <<ENV
# Made by \`make run\` for development on this machine; see .env.example for every setting.
DEBUG=true
SECRET_KEY=$key
ENV
  echo "Created .env for development (DEBUG on, a generated SECRET_KEY)."
fi

$PY manage.py migrate --no-input
$PY manage.py ensure_demo_staff  # first: the demo's wholesale decisions are made by "sales"
$PY manage.py seed_demo
mkdir -p scheduled-exports  # EXPORT_SCHEDULE_DIR of the demo

$PY manage.py worker --no-reload &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
echo
echo "Loyalty Admin is served at http://$HOST:$PORT/ (Ctrl-C stops it)."
echo
$PY manage.py runserver "$HOST:$PORT"
