#!/usr/bin/env bash
# On a machine with a CUDA GPU, one run of at most about 10 minutes (`lmlib gpu-check`): the
# machine (`lmlib doctor`), the CUDA tests, `lmlib bench` at GPT-2-small shape beside Hugging Face
# GPT-2 (eager and compiled), one lab graded, and every solution notebook at the `gpu` profile
# while time is left. Everything it measured goes to results/gpu/<gpu>/ (summary.json first; see
# lmlib/tools/gpu_check.py), and to $OUT too when OUT is set.
# Uses .venv when it exists (or GPU_CHECK_USE_VENV=1 makes scripts/env.sh create it), otherwise
# the machine's python3 with this checkout on PYTHONPATH, so a GPU machine without network keeps
# its own torch (ideally Colab's version, recorded in the summary beside the one used).
#   usage: bash scripts/gpu_check.sh [--dry-run] [--smoke] [--labs ID ...] [--budget-s S]
#   --dry-run prints the plan; --smoke runs every step on the CPU at the ci profile (a test).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -x .venv/bin/python ]] || [[ "${GPU_CHECK_USE_VENV:-0}" == 1 ]]; then
    # shellcheck source=scripts/env.sh
    source scripts/env.sh || exit 1
    py=python
else
    py="${PYTHON:-python3}"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
# Offline data: the course machines' read-only copy, wherever this checkout was copied to.
for data in "${LMLIB_DATA_DIR:-}" shared/data ../shared/data; do
    if [[ -n "$data" && -d "$data" ]]; then
        LMLIB_DATA_DIR="$(cd "$data" && pwd)"
        export LMLIB_DATA_DIR
        break
    fi
done
echo "[gpu] $("$py" -c 'import torch; print("torch", torch.__version__)' 2>&1), data: ${LMLIB_DATA_DIR:-download}"
"$py" -m lmlib gpu-check "$@"
status=$?
if [[ -n "${OUT:-}" && -d results/gpu ]]; then
    cp -r results/gpu "$OUT/" && echo "[gpu] copied results/gpu to $OUT"
fi
exit "$status"
