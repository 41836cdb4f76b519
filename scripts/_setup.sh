# Sourced by scripts/serve and scripts/test: make ./.venv with the machine's python3 and pip, and install
# gridpatrol into it (editable) when it is missing or pyproject.toml changed since the last install.
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
