#!/usr/bin/env bash
# Build the book into _build/html (open _build/html/index.html). Lab notebooks are executed at
# the laptop-sized `cpu` profile unless LMLIB_PROFILE is set, so the book shows real results;
# results are cached in _build/.jupyter_cache and a notebook re-runs only when its code changes.
# Any Sphinx warning fails the build (-W, reported at the end thanks to --keep-going). Every page
# is re-read (--all; cheap, the notebooks' outputs come from the cache), because an incremental
# Sphinx build would not repeat the warnings of pages it skips and a second run would pass.
#
# The page assets are served by the book itself, never from a CDN: MathJax 3, RequireJS and the
# Jupyter widget manager come from the npm registry (book/_assets/package-lock.json, `npm ci`)
# and are copied to book/_assets/public/vendor, which _config.yml adds to html_static_path.
#   usage: bash scripts/book.sh [extra jupyter-book build arguments, e.g. -v]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh

export LMLIB_PROFILE="${LMLIB_PROFILE:-cpu}"
# Labs resume training from their checkpoints; the book's run starts from none.
LMLIB_CHECKPOINTS="$(mktemp -d)"
export LMLIB_CHECKPOINTS
trap 'rm -rf "$LMLIB_CHECKPOINTS"' EXIT
# The kernel must pick matplotlib's inline backend, or no figure reaches the page.
unset MPLBACKEND

assets=book/_assets
vendor="$assets/public/vendor"
lock_hash="$(python -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$assets/package-lock.json")"
if [[ ! -f "$vendor/.stamp" || "$(cat "$vendor/.stamp")" != "$lock_hash" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "[book] error: npm not found; install Node.js >= 18 with npm (e.g. apt-get install npm)" >&2
        exit 1
    fi
    echo "[book] installing web assets (npm ci in $assets)"
    (cd "$assets" && npm ci --no-audit --no-fund --loglevel=error)
    rm -rf "$vendor"
    mkdir -p "$vendor/html-manager"
    cp -r "$assets/node_modules/mathjax/es5" "$vendor/mathjax"
    cp "$assets/node_modules/requirejs/require.js" "$vendor/require.js"
    cp -r "$assets/node_modules/@jupyter-widgets/html-manager/dist/." "$vendor/html-manager/"
    echo "$lock_hash" > "$vendor/.stamp"
else
    echo "[book] web assets up to date"
fi

# The execution cache is keyed on the notebooks' code only: outputs made at another profile must
# not be reused, so switching profiles starts from an empty cache.
mkdir -p _build
if [[ -d _build/.jupyter_cache && "$(cat _build/.profile 2>/dev/null)" != "$LMLIB_PROFILE" ]]; then
    echo "[book] profile changed to $LMLIB_PROFILE: clearing the notebook execution cache"
    rm -rf _build/.jupyter_cache
fi
echo "$LMLIB_PROFILE" > _build/.profile

echo "[book] jupyter-book build (profile $LMLIB_PROFILE)"
jupyter-book build . --all -W -n --keep-going "$@"
echo "[book] done: $(pwd)/_build/html/index.html"
