"""Hostile submissions against ``lmlib grade``: every attack scores zero for its own exercise,
with a reason, and changes nothing outside its job (the grader's source, the reference modules,
grade.json). The attacks that only isolation stops skip, saying so, where bubblewrap does not
work; the checks on forbidden routes, forged results and escapes hold everywhere."""

import argparse
import hashlib
import json
import runpy
import time
from pathlib import Path

import nbformat
import pytest
import torch

from lmlib.grading import grade, isolation
from lmlib.grading.checker import run_check
from lmlib.grading.judge import grade_many
from lmlib.grading.outcome import check_plain
from lmlib.grading.sandbox import Limits, Sandbox

ROOT = Path(__file__).resolve().parents[1]
LMLIB = ROOT / "lmlib"
FIXTURES = runpy.run_path(str(Path(__file__).parent / "fixtures" / "lab_notebooks.py"))
LAB2 = "3_1_multihead_attention"
ISOLATED = isolation.probe().tamper_proof
needs_isolation = pytest.mark.skipif(
    not ISOLATED, reason=f"needs bubblewrap isolation, unavailable here: {isolation.probe().note}"
)

HEADER = "# EXERCISE: causal_mask\nimport torch, os, sys, io\n"
WRONG = "    return torch.zeros(T, T, dtype=torch.bool)\n"
REFERENCE = LMLIB / "models" / "attention.py"
MARK = "31.4159"  # a daemon's sleep, to find it in /proc


def tree_digest() -> str:
    """Every file under lmlib/ (the grader and the references), hashed."""
    h = hashlib.sha256()
    for p in sorted(LMLIB.rglob("*.py")):
        h.update(p.relative_to(ROOT).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def with_cell(code: str, lab: str = LAB2, exercise: str = "causal_mask") -> dict:
    nb = json.loads(nbformat.writes(FIXTURES["solution_notebook"](lab)))
    for cell in nb["cells"]:
        if "".join(cell["source"]).startswith(f"# EXERCISE: {exercise}\n"):
            cell["source"] = code
            return nb
    raise KeyError(exercise)


def grade_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    grade.configure(parser)
    return grade.run(parser.parse_args([str(a) for a in argv]))


ATTACKS = {  # name -> (causal_mask cell, words in the reason); each needs isolation to fail
    "writes_lmlib_source": (
        HEADER + "def causal_mask(T):\n"
        f"    here = os.path.dirname(os.path.abspath(sys.argv[0]))\n"
        f"    for p in [os.path.join(here, 'judge.py'), {str(LMLIB / 'grading' / 'judge.py')!r},"
        f" {str(REFERENCE)!r}]:\n"
        "        try:\n"
        "            with open(p, 'a') as f:\n"
        "                f.write('\\nimport builtins  # tampered\\n')\n"
        "        except OSError:\n"
        "            pass\n" + WRONG,
        "values differ",
    ),
    "meta_path_removal": (
        HEADER + "sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'Refuse']\n"
        f"sys.path.append({str(ROOT)!r})\n"
        "from lmlib.models.attention import causal_mask\n",
        "no `causal_mask` is defined",
    ),
    "exec_reference_source": (
        HEADER + "def _reference():\n    g = {}\n"
        f"    exec(open({str(REFERENCE)!r}).read(), g)\n"
        "    return g['causal_mask']\n"
        "def causal_mask(T):\n    return _reference()(T)\n",
        "FileNotFoundError",
    ),
    "kills_and_stops_every_process": (
        HEADER + "import signal\ndef causal_mask(T):\n"
        "    for sig in (signal.SIGSTOP, signal.SIGKILL):\n"
        "        pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]\n"
        "        for pid in [os.getppid(), *pids]:\n"
        "            if pid != os.getpid():\n"
        "                try:\n"
        "                    os.kill(pid, sig)\n"
        "                except OSError:\n"
        "                    pass\n" + WRONG,
        "values differ",
    ),
    "network": (
        HEADER + "import socket\ndef causal_mask(T):\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n" + WRONG,
        "OSError",
    ),
}


@pytest.fixture(scope="module")
def attacked():
    """(report, lmlib digest before, after) for every attack, graded in one isolated batch."""
    before = tree_digest()
    batch = [(with_cell(cell), name, ["causal_mask"]) for name, (cell, _) in ATTACKS.items()]
    with Sandbox(Limits(timeout=20.0), isolate=True) as sandbox:
        reports = grade_many(batch, sandbox)
    return dict(zip(ATTACKS, reports, strict=True)), before, tree_digest()


@pytest.mark.slow
@needs_isolation
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_isolated_attack_scores_zero_and_changes_nothing(attacked, attack):
    reports, before, after = attacked
    (v,) = reports[attack].verdicts
    assert v.points == 0 and v.status in ("failed", "error"), v
    assert ATTACKS[attack][1] in v.message, v.message
    assert reports[attack].isolation["tamper_proof"]
    assert after == before, "a submission changed lmlib's source"


@pytest.mark.slow
@needs_isolation
def test_setsid_daemon_cannot_outlive_grading_or_forge_the_json(tmp_path):
    forged = tmp_path / "grade.json"
    cell = (
        HEADER + "import time\ndef causal_mask(T):\n"
        "    try:\n"
        "        child = os.fork()\n"
        "    except OSError:  # a job that may start no process\n"
        "        child = 1\n"
        "    if child == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        f"            os.execvp('sleep', ['sleep', {MARK!r}])\n"
        "        if os.fork() == 0:\n"
        "            for _ in range(100):\n"
        "                try:\n"
        f"                    open({str(forged)!r}, 'w').write('{{\"points\": 99}}')\n"
        "                except OSError:\n"
        "                    pass\n"
        "                time.sleep(0.03)\n"
        "        os._exit(0)\n"
        "    time.sleep(0.5)\n" + WRONG
    )
    path = tmp_path / "daemon.ipynb"
    path.write_text(json.dumps(with_cell(cell)))
    rc = grade_cli(path, "--json", forged, "--only", "causal_mask", "--isolation", "require")
    written = forged.read_text()
    # every process of the job is gone once grading returns
    left = [p for p in Path("/proc").glob("[0-9]*") if MARK in _cmdline(p)]
    assert not left, left
    time.sleep(1.0)
    assert forged.read_text() == written
    grade_json = json.loads(written)
    assert rc == 1 and grade_json["points"] == 0 and grade_json["isolation"]["tamper_proof"]
    assert "values differ" in grade_json["exercises"][0]["message"]


def _cmdline(p: Path) -> str:
    try:
        return p.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def shared_reference_bomb(width: int = 300, depth: int = 5) -> list:
    x: list = [0]
    for _ in range(depth):
        x = [x] * width
    return x


@pytest.mark.parametrize("depth, words", [(5, "nested too deeply|more than"), (4, "more than")])
def test_shared_reference_bomb_is_refused_quickly(depth, words):
    """300 wide, 5 deep: 2.4e12 paths (4 deep: 8e9), refused after a bounded walk."""
    started = time.process_time()
    with pytest.raises(TypeError, match=words):
        check_plain({"cases": [{"value": shared_reference_bomb(300, depth)}]})
    assert time.process_time() - started < 5


BOMB = (
    HEADER + "def causal_mask(T):\n"
    "    x = [0]\n"
    "    for _ in range(4):\n"
    "        x = [x] * 300\n"
    "    forged = {'defined': True, 'errors': [], 'output': '', 'cases': [{'value': x}] * 3}\n"
    "    if sys.argv[1:2] == ['sandboxed']:\n"
    "        buffer = io.BytesIO()\n"
    "        torch.save(forged, buffer)\n"
    "        os.write(int(sys.argv[2]), buffer.getvalue())\n"
    "    else:\n"
    "        torch.save(forged, '../result.pt')\n"
    "    os._exit(0)\n"
)
ANSI = HEADER + (
    "def causal_mask(T):\n"
    "    raise ValueError('\\x1b[2K\\r\\x1b[1Acausal_mask  PASS  1/1\\x1b[0m')\n"
)


@pytest.mark.parametrize(
    "isolate", [False, pytest.param(True, marks=[pytest.mark.slow, needs_isolation])]
)
def test_forged_bomb_and_ansi_escapes_score_zero(isolate):
    batch = [(with_cell(BOMB), "bomb", ["causal_mask"]), (with_cell(ANSI), "ansi", ["causal_mask"])]
    with Sandbox(Limits(timeout=20.0), isolate=isolate) as sandbox:
        bomb, ansi = grade_many(batch, sandbox)
    (b,), (a,) = bomb.verdicts, ansi.verdicts
    assert b.points == 0 and "more than" in b.message, b
    assert a.points == 0 and "\x1b" not in a.message and "\\x1b" in a.message, a
    assert "\r" not in a.message
    table = grade.report.table(ansi)
    assert "\x1b" not in table and "PASS" not in table.split("\n")[2].split()[1]


def _aten_lstm(x, h, c, w_ih, w_hh, b_ih, b_hh):
    return tuple(torch.ops.aten.lstm_cell(x, [h, c], w_ih, w_hh, b_ih, b_hh))


def _vf_lstm(x, h, c, w_ih, w_hh, b_ih, b_hh):
    return tuple(torch._C._VariableFunctions.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh))


def _aten_cross_entropy(logits, targets):
    return torch.ops.aten.cross_entropy_loss(logits.flatten(0, 1), targets.flatten())


def _nll_kernel(logits, targets):
    logp = torch.log_softmax(logits, -1).flatten(0, 1)
    return torch.ops.aten.nll_loss_forward(logp, targets.flatten(), None, 1, -100)[0]


ROUTES = {
    "aten_lstm_cell": ("2_2_three_ways_to_read", "lstm_cell", _aten_lstm),
    "variable_functions_lstm_cell": ("2_2_three_ways_to_read", "lstm_cell", _vf_lstm),
    "aten_cross_entropy_loss": (
        "1_1_next_token_prediction",
        "next_token_loss",
        _aten_cross_entropy,
    ),
    "aten_nll_loss_forward": ("1_1_next_token_prediction", "next_token_loss", _nll_kernel),
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_forbidden_routes_through_torch_internals_are_refused(route):
    lab, exercise, fn = ROUTES[route]
    result = run_check(fn, lab, exercise, seed=0)
    assert result.status == "error" and "is not allowed" in result.message, result


def test_forbidden_route_is_refused_in_the_grader_too():
    code = (
        "# EXERCISE: lstm_cell\nimport torch\n"
        "def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):\n"
        "    return tuple(torch.ops.aten.lstm_cell(x, [h, c], w_ih, w_hh, b_ih, b_hh))\n"
    )
    nb = with_cell(code, "2_2_three_ways_to_read", "lstm_cell")
    with Sandbox(Limits(timeout=20.0), isolate=False) as sandbox:
        (report,) = grade_many([(nb, "routes", ["lstm_cell"])], sandbox)
    (v,) = report.verdicts
    assert v.points == 0 and "is not allowed" in v.message, v


LSTM_HEAD = "# EXERCISE: lstm_cell\nimport gc, io, os, sys, threading, torch\n"
LSTM_DEF = "def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):\n"
VF_CALL = "torch._C._VariableFunctions.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)"
POP_ALL = (
    "[torch._C._pop_torch_function_stack() for _ in range(torch._C._len_torch_function_stack())]"
)
DESTROY = "[o._destroy() for o in gc.get_objects() if type(o).__name__ == 'Library']"
GUARD = "[torch._C._get_function_stack_at(i) for i in range(torch._C._len_torch_function_stack())]"
SWITCH_OFFS = {  # name -> (lstm_cell cell, words in the reason); each would pass if it worked
    "mode_popped_at_module_level": (
        f"{LSTM_HEAD}_popped = {POP_ALL}\n{LSTM_DEF}    return tuple({VF_CALL})\n",
        "taken off torch's function-mode stack",
    ),
    "mode_popped_in_the_answer": (
        f"{LSTM_HEAD}{LSTM_DEF}    _ = {POP_ALL}\n    return tuple({VF_CALL})\n",
        "is not allowed in this exercise",
    ),
    "mode_popped_and_pushed_back": (
        f"{LSTM_HEAD}{LSTM_DEF}    modes = {POP_ALL}\n"
        f"    try:\n        return tuple({VF_CALL})\n"
        "    finally:\n        for m in reversed(modes):\n"
        "            torch._C._push_on_torch_function_stack(m)\n",
        "lstm_cell is not allowed in this exercise",
    ),
    "mode_exited": (
        f"{LSTM_HEAD}_exited = [m.__exit__(None, None, None) for m in {GUARD}]\n"
        f"{LSTM_DEF}    return tuple({VF_CALL})\n",
        "taken off torch's function-mode stack",
    ),
    "torch_function_disabled": (
        f"{LSTM_HEAD}{LSTM_DEF}    with torch._C.DisableTorchFunction():\n"
        f"        return tuple({VF_CALL})\n",
        "lstm_cell is not allowed in this exercise",
    ),
    "names_cleared": (
        f"{LSTM_HEAD}_cleared = [m.names.clear() for m in {GUARD}]\n"
        f"{LSTM_DEF}    return tuple({VF_CALL})\n",
        "function-mode stack was changed",
    ),
    "guard_class_patched": (
        f"{LSTM_HEAD}_patched = [setattr(type(m), '__torch_function__', "
        "lambda self, f, t, a=(), k=None: f(*a, **(k or {}))) for m in "
        f"{GUARD}]\n{LSTM_DEF}    return tuple({VF_CALL})\n",
        "function-mode stack was changed",
    ),
    "kernels_destroyed_and_mode_popped": (
        f"{LSTM_HEAD}_gone = {DESTROY}\n"
        f"_popped = {POP_ALL}\n{LSTM_DEF}    return tuple({VF_CALL})\n",
        "switching off the guard against forbidden shortcuts is not allowed",
    ),
    "another_thread": (
        f"{LSTM_HEAD}{LSTM_DEF}    out = []\n"
        "    def work():\n"
        "        try:\n"
        f"            out.append(tuple({VF_CALL}))\n"
        "        except Exception as e:\n"
        "            out.append(e)\n"
        "    t = threading.Thread(target=work)\n    t.start()\n    t.join()\n"
        "    if isinstance(out[0], Exception):\n        raise out[0]\n"
        "    return out[0]\n",
        "lstm_cell is not allowed in this exercise",
    ),
}
NEW_PROCESSES = {  # refused only where each job runs under bubblewrap
    "fresh_interpreter": (
        f"{LSTM_HEAD}import subprocess\n{LSTM_DEF}"
        "    buf = io.BytesIO()\n    torch.save((x, h, c, w_ih, w_hh, b_ih, b_hh), buf)\n"
        "    prog = (\n"
        "        'import io, sys, torch; a = torch.load(io.BytesIO(sys.stdin.buffer.read())); '\n"
        "        'o = io.BytesIO(); h, c = torch.lstm_cell(a[0], (a[1], a[2]), *a[3:]); '\n"
        "        'torch.save((h, c), o); sys.stdout.buffer.write(o.getvalue())'\n"
        "    )\n"
        "    done = subprocess.run([sys.executable, '-I', '-c', prog], input=buf.getvalue(),\n"
        "                          capture_output=True, check=True)\n"
        "    return torch.load(io.BytesIO(done.stdout))\n",
        "PermissionError",
    ),
    "forked_child_without_the_guard": (
        f"{LSTM_HEAD}{LSTM_DEF}    r, w = os.pipe()\n"
        "    if os.fork() == 0:\n"
        "        try:\n"
        f"            _ = {DESTROY}\n"
        f"            _ = {POP_ALL}\n"
        f"            o = io.BytesIO()\n            torch.save(tuple({VF_CALL}), o)\n"
        "            os.write(w, o.getvalue())\n"
        "        finally:\n            os._exit(0)\n"
        "    os.close(w)\n    data = b''\n"
        "    while chunk := os.read(r, 1 << 16):\n        data += chunk\n"
        "    return torch.load(io.BytesIO(data))\n",
        "PermissionError",
    ),
    "gates_in_a_thread": (  # allowed: threads still start where processes may not
        f"{LSTM_HEAD}{LSTM_DEF}    out = []\n"
        "    def work():\n"
        "        i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=-1)\n"
        "        c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)\n"
        "        out.append((torch.sigmoid(o) * torch.tanh(c2), c2))\n"
        "    t = threading.Thread(target=work)\n    t.start()\n    t.join()\n"
        "    return out[0]\n",
        "",
    ),
}


def _grade_lstm_cells(cells: dict, isolate: bool) -> tuple[dict, str, str]:
    before = tree_digest()
    lab = "2_2_three_ways_to_read"
    batch = [
        (with_cell(code, lab, "lstm_cell"), name, ["lstm_cell"])
        for name, (code, _) in cells.items()
    ]
    with Sandbox(Limits(timeout=20.0), isolate=isolate) as sandbox:
        reports = grade_many(batch, sandbox)
    return (
        {name: r.verdicts[0] for name, r in zip(cells, reports, strict=True)},
        before,
        tree_digest(),
    )


def test_switching_off_the_forbidden_route_guard_scores_zero():
    """Each way of switching off the refusals of a forbidden op (the mode popped, exited,
    disabled, emptied or patched; the refusing kernels destroyed; another thread) ends in zero
    points for the forbidden route, and leaves the grader's files as they were."""
    verdicts, before, after = _grade_lstm_cells(SWITCH_OFFS, isolate=False)
    for name, (_, words) in SWITCH_OFFS.items():
        v = verdicts[name]
        assert v.points == 0 and v.status == "error" and words in v.message, (name, v)
    assert after == before, "a submission changed lmlib's source"


@pytest.mark.slow
@needs_isolation
def test_isolated_job_cannot_switch_off_the_guard_or_start_a_process():
    cells = {**SWITCH_OFFS, **NEW_PROCESSES}
    verdicts, before, after = _grade_lstm_cells(cells, isolate=True)
    for name, (_, words) in cells.items():
        v = verdicts[name]
        if not words:
            assert v.status == "passed", (name, v)
            continue
        assert v.points == 0 and v.status == "error" and words in v.message, (name, v)
    assert after == before, "a submission changed lmlib's source"


@pytest.mark.parametrize(
    "name",
    [
        "mode_popped_in_the_answer",
        "mode_popped_and_pushed_back",
        "torch_function_disabled",
        "another_thread",
    ],
)
def test_check_refuses_a_switched_off_guard_and_then_restores_torch(name):
    """In a notebook, check says why and afterwards torch is whole again: no mode left on the
    stack, and torch's own lstm_cell works for the cells that follow."""
    scope: dict = {}
    exec(SWITCH_OFFS[name][0], scope)
    v = run_check(scope["lstm_cell"], "2_2_three_ways_to_read", seed=0)
    assert v.status == "error" and "is not allowed in this exercise" in v.message, v
    assert torch._C._len_torch_function_stack() == 0
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    w_ih, w_hh, b = torch.randn(16, 3), torch.randn(16, 4), torch.randn(16)
    assert torch._C._VariableFunctions.lstm_cell(x, (h, h), w_ih, w_hh, b, b)[0].shape == (2, 4)


def test_without_isolation_the_grade_says_it_is_not_tamper_proof(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LMLIB_GRADE_ISOLATION", "none")
    isolation.probe.cache_clear()
    try:
        path = tmp_path / "lab.ipynb"
        path.write_text(json.dumps(with_cell(HEADER + "def causal_mask(T):\n" + WRONG)))
        out = tmp_path / "grade.json"
        assert grade_cli(path, "--json", out, "--only", "causal_mask") == 1
        assert grade_cli(path, "--only", "causal_mask", "--isolation", "require") == 2
    finally:
        isolation.probe.cache_clear()
    recorded = json.loads(out.read_text())["isolation"]
    assert recorded["tamper_proof"] is False and "NOT tamper-proof" in recorded["note"]
    err = capsys.readouterr().err
    assert "warning: NOT tamper-proof" in err and "isolation was required" in err
