# Sourced by scripts/serve and scripts/test: make ./.venv with the machine's python3 and pip, and install
# gridpatrol into it (editable) when it is missing or pyproject.toml changed since the last install; the test
# command also installs the JavaScript linter (ensure_node_modules).
ensure_venv() {
  local extra="$1" python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "gridpatrol needs Python 3.10 or newer as '$python' (set PYTHON=/path/to/python3.11)" >&2
    exit 2
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $("$python" --version 2>&1)" >&2
    "$python" -m venv .venv
  fi
  local stamp=".venv/.gridpatrol-installed${extra:+-$extra}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: pip install -e '.${extra:+[$extra]}' (first run takes a minute)" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extra:+[$extra]}"
    touch "$stamp"
    [ -n "$extra" ] && touch .venv/.gridpatrol-installed
  fi
  return 0
}

# Install the pinned JavaScript tools (ESLint; package-lock.json) into ./node_modules with `npm ci` when it is
# missing or package.json / package-lock.json changed since the last install. Only the npm registry is asked,
# and only then; --ignore-scripts: no package runs code at install time.
ensure_node_modules() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "note: npm is not installed; the JavaScript lint (tests/test_lint.py) will report it" >&2
    return 0
  fi
  local stamp="node_modules/.gridpatrol-installed" want
  want="$(sha256sum package.json package-lock.json)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "setup: npm ci (ESLint, pinned by package-lock.json)" >&2
  npm ci --no-audit --no-fund --no-update-notifier --ignore-scripts --prefer-offline --loglevel=error >/dev/null
  printf '%s\n' "$want" > "$stamp"
  return 0
}
