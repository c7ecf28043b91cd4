#!/usr/bin/env bash
# The production settings must pass Django's deployment checks and have no missing migration.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG=false
export SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')"
export ALLOWED_HOSTS=admin.example.com
.venv/bin/python manage.py check --deploy --fail-level WARNING
.venv/bin/python manage.py makemigrations --check --dry-run
