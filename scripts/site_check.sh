#!/usr/bin/env bash
# Open every page of the built book (_build/html, from scripts/book.sh) in headless Chromium
# served on 127.0.0.1, and check on each: math rendered by the bundled MathJax with no raw TeX
# left, saved widget state rendered (tqdm bars), every image loaded, no request outside
# 127.0.0.1, and on each lab page a Colab link to its own notebook. Screenshots and report.json
# go to _build/site_check/. Installs Debian's chromium with apt-get when it is missing (as root).
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
python3 scripts/site_check.py "${1:-_build/html}" --out _build/site_check
