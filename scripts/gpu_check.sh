#!/usr/bin/env bash
# On a machine with a CUDA GPU, in one go: the CUDA tests (tests/test_cuda.py, `-m cuda`), lab 1
# executed at the `gpu` profile, and `lmlib bench` at GPT-2-small shape (124M parameters, bf16
# autocast, eager and compiled) beside Hugging Face GPT-2. Writes results/bench/<gpu>-gpt2-small.json
# (the device is named in the file and in its name) and, with OUT set, copies logs there.
# Uses .venv when scripts/env.sh can make it, otherwise the machine's python3 with this checkout on
# PYTHONPATH (a GPU machine without network keeps its own torch).
#   usage: bash scripts/gpu_check.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -x .venv/bin/python ]] || [[ "${GPU_CHECK_USE_VENV:-0}" == 1 ]]; then
    source scripts/env.sh || exit 1
    py=python
else
    py="${PYTHON:-python3}"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
logs="${OUT:-_build/gpu_check}"
mkdir -p "$logs" results/bench
if ! "$py" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    echo "[gpu] error: no CUDA device visible to $("$py" -c 'import torch; print("torch", torch.__version__)')" >&2
    exit 2
fi
gpu="$("$py" -c 'import re, torch; print(re.sub(r"[^A-Za-z0-9]+", "-", torch.cuda.get_device_name(0)).strip("-").lower())')"
echo "[gpu] device: $gpu"
status=0

echo "[gpu] 1/3 CUDA tests"
"$py" -m pytest -q -p no:cacheprovider -m cuda tests/test_cuda.py -rs 2>&1 | tee "$logs/cuda_tests.txt"
((PIPESTATUS[0] == 0)) || status=1

echo "[gpu] 2/3 lab 1 at the gpu profile"
LMLIB_PROFILE=gpu MPLBACKEND=Agg "$py" - labs/solutions/1_1_next_token_prediction.ipynb "$logs/lab1_1_gpu.ipynb" <<'PY' 2>&1 | tee "$logs/lab1_1.txt"
import sys, time
import nbformat
from nbclient import NotebookClient

t0 = time.perf_counter()
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=900, kernel_name="python3").execute()
nbformat.write(nb, sys.argv[2])
print(f"[gpu] lab 1 at gpu profile: {time.perf_counter() - t0:.0f} s")
PY
((PIPESTATUS[0] == 0)) || status=1

echo "[gpu] 3/3 lmlib bench at GPT-2-small shape"
"$py" -m lmlib bench --shapes gpt2-small --models lmlib hf-gpt2 --modes eager compiled \
    --repeats 5 --steps 10 --json "results/bench/$gpu-gpt2-small.json" 2>&1 | tee "$logs/bench.txt"
((PIPESTATUS[0] == 0)) || status=1
[[ -n "${OUT:-}" ]] && cp "results/bench/$gpu-gpt2-small.json" "$OUT/" 2>/dev/null
echo "[gpu] done (exit $status)"
exit "$status"
