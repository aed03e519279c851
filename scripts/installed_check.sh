#!/usr/bin/env bash
# lmlib as a student in Colab gets it: built into a wheel, installed into a fresh virtualenv
# outside the repository, and used from an empty temporary directory. There it executes one
# student notebook and one solution notebook at the `ci` profile with their setup cell as
# written (lmlib is installed, so the cell does nothing), and grades a notebook with
# `lmlib grade`. It then checks that lmlib was imported from the wheel and that nothing was
# written into the repository or into site-packages.
#
# Dependencies: by default the fresh venv sees the pinned packages already installed in .venv
# (a .pth file after its own site-packages) and `pip check` proves the wheel's requirements are
# met by them; a full pinned install copies about 1 GB and takes minutes on 2 cores.
# LMLIB_INSTALLED_FULL=1 does that full install (`pip install -c <pins> lmlib.whl`) instead.
#   usage: bash scripts/installed_check.sh [LAB]   (LAB: a notebook name, default 1_1_next_token_prediction)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh >/dev/null
repo="$(pwd)"
lab="${1:-1_1_next_token_prediction}"
pins=requirements/constraints.txt
if python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
    pins=requirements/constraints-py310.txt
fi
for nb in "labs/$lab.ipynb" "labs/solutions/$lab.ipynb"; do
    [[ -f "$nb" ]] || { echo "[installed] error: no $nb" >&2; exit 2; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/lmlib-installed.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
repo_state() { git -C "$repo" status --porcelain --untracked-files=all; }
before="$(repo_state)"

# 1. The wheel, built from a copy of the working tree's files (building in place would write
#    build/ and lmlib.egg-info into the repository).
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work/src"
python -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" "$work/src" >/dev/null
wheel=("$work"/dist/lmlib-*.whl)
echo "[installed] built $(basename "${wheel[0]}")"

# 2. A fresh virtualenv, from the interpreter .venv was made with.
base="$(python -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')"
"$base" -m venv "$work/venv"
vpy="$work/venv/bin/python"
site="$("$vpy" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [[ "${LMLIB_INSTALLED_FULL:-0}" == 1 ]]; then
    "$vpy" -m pip install -q -c "$pins" "${wheel[0]}" ipykernel nbclient 2>&1 |
        { grep -v "is ignored: it is neither a file nor a directory" || true; }
else
    python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' >"$site/zz_pinned_deps.pth"
    # the venv's own old setuptools would shadow the pinned one torch requires
    "$vpy" -m pip uninstall -q -y setuptools
    "$vpy" -m pip install -q --no-deps "${wheel[0]}"
    "$vpy" -m pip check >/dev/null || { "$vpy" -m pip check; exit 1; }
fi
echo "[installed] installed into a fresh venv ($((SECONDS - start)) s so far)"
touch "$work/installed.stamp"
sleep 1  # file times are compared with the stamp below

# 3. An empty directory with the two notebooks and nothing else from the repository; the
#    environment a notebook server gives: the venv's python first, no repository on any path.
run="$work/run"
mkdir "$run"
cp "labs/$lab.ipynb" "$run/student.ipynb"
cp "labs/solutions/$lab.ipynb" "$run/solution.ipynb"
cd "$run"
export PATH="$work/venv/bin:$PATH" LMLIB_PROFILE=ci MPLBACKEND=Agg HOME="$work/home"
unset VIRTUAL_ENV PYTHONPATH
mkdir -p "$HOME"
where="$("$vpy" -c 'import lmlib; print(lmlib.__file__)')"
if [[ "$where" != "$site"/* ]]; then
    echo "[installed] error: lmlib imported from $where, not from the wheel in $site" >&2
    exit 1
fi

"$vpy" - student.ipynb solution.ipynb <<'PY'
import sys
import time

import nbformat
from nbclient import NotebookClient

for path in sys.argv[1:]:
    t0 = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
    print(f"[installed] executed {path} ({time.perf_counter() - t0:.0f} s)")
PY

lmlib grade solution.ipynb --json grade.json >grade.txt || {
    cat grade.txt
    echo "[installed] error: lmlib grade failed" >&2
    exit 1
}
"$vpy" - grade.json <<'PY'
import json
import sys

grade = json.load(open(sys.argv[1]))
score, total = grade["points"], grade["max_points"]
print(f"[installed] lmlib grade solution.ipynb: {score}/{total}")
if score != total:
    sys.exit(f"[installed] error: the solution notebook scored {score} of {total}")
PY

# 4. Nothing written where it must not be.
cd "$repo"
status=0
if [[ "$(repo_state)" != "$before" ]]; then
    echo "[installed] error: the repository changed:" >&2
    diff <(echo "$before") <(repo_state) >&2 || true
    status=1
fi
written="$(find "$site" -newer "$work/installed.stamp" -print | head -20)"
if [[ -n "$written" ]]; then
    echo "[installed] error: written into site-packages:" >&2
    echo "$written" >&2
    status=1
fi
if ((status == 0)); then
    echo "[installed] passed: notebooks ran and grading worked from the wheel ($((SECONDS - start)) s)"
fi
exit "$status"
