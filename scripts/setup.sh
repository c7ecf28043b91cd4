#!/usr/bin/env bash
# Prepare a working checkout: a Python >= 3.12 virtualenv with the project's packages, and the
# front-end packages from the npm registry. Safe to run again; it only redoes what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP=$VENV/.installed

python_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
  local candidates=(python3.13 python3.12 python3)
  if command -v pyenv >/dev/null 2>&1; then
    local version prefix
    for version in 3.13 3.12; do
      while read -r prefix; do
        [ -n "$prefix" ] && candidates+=("$prefix/bin/python3")
      done < <(pyenv versions --bare 2>/dev/null | grep -E "^${version}(\.|$)" | sort -rV |
        while read -r v; do pyenv prefix "$v" 2>/dev/null; done)
    done
  fi
  local candidate
  for candidate in "${candidates[@]}"; do
    if python_ok "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ] || ! python_ok "$VENV/bin/python"; then
  if ! PYTHON=$(find_python); then
    echo "No Python 3.12 or newer was found (tried python3.13, python3.12, python3 and pyenv)." >&2
    echo "Install one, e.g. 'apt-get install python3.13 python3.13-venv' or 'pyenv install 3.13'," >&2
    echo "then run this command again." >&2
    exit 1
  fi
  echo "Creating $VENV with $PYTHON ($("$PYTHON" --version 2>&1))"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
fi

want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "Installing Python packages into $VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet ".[dev]"
  echo "$want" >"$STAMP"
fi

lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.installed ] || [ "$(cat node_modules/.installed)" != "$lock" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm was not found: install Node.js 20 or newer (e.g. 'apt-get install nodejs npm')." >&2
    exit 1
  fi
  echo "Installing front-end packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" >node_modules/.installed
fi
