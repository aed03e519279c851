#!/usr/bin/env bash
# Run everything CI runs: the unit tests in tests/ and every lab notebook (students' and
# solutions) executed top to bottom with nbval in lax mode (cells must run without error; outputs
# are not compared). Uses the small `ci` profile unless LMLIB_PROFILE is set.
#   usage: bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh

export LMLIB_PROFILE="${LMLIB_PROFILE:-ci}"
export MPLBACKEND=Agg

shopt -s nullglob
notebooks=(labs/*.ipynb labs/solutions/*.ipynb)
shopt -u nullglob

# No .pytest_cache in the work tree; run notebooks in this venv's kernel, whatever kernelspec
# the notebook names.
args=(-p no:cacheprovider tests)
if ((${#notebooks[@]})); then
    echo "[test] unit tests + ${#notebooks[@]} notebook(s) (profile $LMLIB_PROFILE)"
    args+=(--nbval-lax --nbval-current-env "${notebooks[@]}")
else
    echo "[test] unit tests (profile $LMLIB_PROFILE); no notebooks in labs/ yet, skipping them"
fi

status=0
python -m pytest "${args[@]}" "$@" || status=$?
if ((status == 5)); then
    echo "[test] error: pytest collected no tests" >&2
fi
exit "$status"
