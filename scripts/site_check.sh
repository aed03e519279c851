#!/usr/bin/env bash
# Open every page of the built book (_build/html, from scripts/book.sh) in headless Chromium
# served on 127.0.0.1, and check on each: math rendered by the bundled MathJax with no raw TeX
# left, saved widget state rendered (tqdm bars), every image loaded, no request outside
# 127.0.0.1, on each lab page a Colab link to its own notebook, and an axe-core accessibility
# scan that fails a page on any serious or critical violation. Screenshots and report.json go to
# _build/site_check/. Installs Debian's chromium with apt-get when it is missing (as root), and
# the pinned axe-core (book/_assets, `npm ci`) when scripts/book.sh has not already.
#   usage: bash scripts/site_check.sh [path/to/html]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v chromium >/dev/null 2>&1; then
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "[site] error: chromium not found; install it (Debian/Ubuntu: apt-get install chromium)" >&2
        exit 2
    fi
    echo "[site] installing chromium with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [[ ! -f book/_assets/node_modules/axe-core/axe.min.js ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "[site] error: npm not found; install Node.js >= 18 with npm (e.g. apt-get install npm)" >&2
        exit 2
    fi
    echo "[site] installing the pinned web assets (npm ci in book/_assets) for axe-core"
    (cd book/_assets && npm ci --no-audit --no-fund --loglevel=error)
fi
python3 scripts/site_check.py "${1:-_build/html}" --out _build/site_check
