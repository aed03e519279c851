# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/book.sh (not run on its own):
#   source scripts/env.sh
# Creates .venv in the repository root if it is missing, installs lmlib (editable) with the dev and
# book and bench extras at exact pinned versions, and activates the venv.
# The install is skipped when nothing it depends on changed (.venv/.stamp), so a second run is
# instant. Choose the interpreter with PYTHON=python3.11 (default: python3; needs >= 3.10). Pins:
# requirements/constraints.txt (Python >= 3.11) or requirements/constraints-py310.txt (3.10).
#
# LMLIB_DATA_DIR: on the course machines a read-only copy of the data sets lives in ../shared/data;
# it is used when it exists and LMLIB_DATA_DIR is unset. Students online need nothing: the loader
# downloads the data into LMLIB_CACHE_DIR the first time.

_lmlib_env() {
    local root py stamp want
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    py="${PYTHON:-python3}"

    if [[ ! -x "$root/.venv/bin/python" ]]; then
        if ! command -v "$py" >/dev/null 2>&1; then
            echo "[env] error: '$py' not found; install Python >= 3.10 or set PYTHON=/path/to/python3" >&2
            return 1
        fi
        if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
            echo "[env] error: Python >= 3.10 is needed, '$py' is $("$py" -V 2>&1);" \
                 "set PYTHON=python3.11 (or newer)" >&2
            return 1
        fi
        if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
            echo "[env] error: '$py' cannot create virtual environments;" \
                 "on Debian/Ubuntu: sudo apt-get install python3-venv" >&2
            return 1
        fi
        echo "[env] creating .venv with $("$py" -V 2>&1)"
        "$py" -m venv "$root/.venv" || return 1
    fi

    local vpy="$root/.venv/bin/python" pins="requirements/constraints.txt"
    if "$vpy" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
        pins="requirements/constraints-py310.txt"  # some pins of the 3.11 resolution need >= 3.11
    fi
    # sha256 of the pins, pyproject.toml and the interpreter (in Python: macOS has no sha256sum)
    want="$("$vpy" - "$root/$pins" "$root/pyproject.toml" <<'PY'
import hashlib, sys
h = hashlib.sha256(sys.version.encode())
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        h.update(f.read())
print(h.hexdigest())
PY
)" || return 1
    stamp="$root/.venv/.stamp"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        echo "[env] installing lmlib[dev,book,bench] with the pins of $pins (first run: a few minutes)"
        # -q keeps pip to warnings and errors; drop the notices about unused local package indexes.
        (
            set -o pipefail
            cd "$root" &&
            "$vpy" -m pip install -q --disable-pip-version-check \
                -c "$pins" -e ".[dev,book,bench]" 2>&1 |
                { grep -v "is ignored: it is neither a file nor a directory" || true; }
        ) || { echo "[env] error: pip install failed (see above)" >&2; return 1; }
        echo "$want" > "$stamp"
        echo "[env] .venv ready"
    else
        echo "[env] .venv up to date"
    fi

    export VIRTUAL_ENV="$root/.venv"
    export PATH="$root/.venv/bin:$PATH"
    hash -r
    if [[ -z "${LMLIB_DATA_DIR:-}" && -d "$root/../shared/data" ]]; then
        LMLIB_DATA_DIR="$(cd "$root/../shared/data" && pwd)"
        export LMLIB_DATA_DIR
        echo "[env] LMLIB_DATA_DIR=$LMLIB_DATA_DIR"
    fi
}

_lmlib_env || return 1
unset -f _lmlib_env
