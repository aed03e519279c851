"""Hostile submissions against ``lmlib grade``: every attack scores zero for its own exercise,
with a reason, and changes nothing outside its job (the grader's source, the reference modules,
grade.json). The attacks that only isolation stops skip, saying so, where bubblewrap does not
work; the checks on forbidden routes, forged results and escapes hold everywhere."""

import argparse
import hashlib
import json
import os
import runpy
import time
from pathlib import Path

import nbformat
import pytest
import torch

from lmlib.grading import grade, isolation
from lmlib.grading.checker import run_check
from lmlib.grading.judge import grade_many
from lmlib.grading.outcome import check_plain, deadline
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
        reports = grade_many(batch, sandbox, source_rules=False)  # what isolation alone stops
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
    # the source-level rules would refuse the cell (it imports os): grade what isolation does
    with Sandbox(Limits(timeout=20.0), isolate=True) as sandbox:
        (report,) = grade_many([(with_cell(cell), "daemon", ["causal_mask"])], sandbox, None, False)
    grade._write_json(forged, report.as_dict())
    rc = grade.exit_status(report.points, report.max_points, 0.5)
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
    "    if sys.argv[1:2] == ['pool']:  # an isolated job's result goes to fd 3\n"
    "        buffer = io.BytesIO()\n"
    "        torch.save(forged, buffer)\n"
    "        os.write(3, buffer.getvalue())\n"
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
        bomb, ansi = grade_many(batch, sandbox, source_rules=False)
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
    batch = [(nb, "routes", ["lstm_cell"])]
    with Sandbox(Limits(timeout=20.0), isolate=False) as sandbox:
        (ruled,) = grade_many(batch, sandbox)
        (unruled,) = grade_many(batch, sandbox, source_rules=False)
    (v,) = ruled.verdicts  # refused before it runs: the source reads `torch.ops`
    assert v.points == 0 and v.status == "error" and "reads `.ops`" in v.message, v
    (v,) = unruled.verdicts  # and when it runs, the run-time refusal holds
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


def _grade_lstm_cells(cells: dict, isolate: bool, rules: bool = False) -> tuple[dict, str, str]:
    """The verdicts of ``cells`` (lstm_cell cells); without ``rules``, what the run-time refusals
    and the sandbox do with code that the source-level rules would have refused."""
    before = tree_digest()
    lab = "2_2_three_ways_to_read"
    batch = [
        (with_cell(code, lab, "lstm_cell"), name, ["lstm_cell"])
        for name, (code, _) in cells.items()
    ]
    with Sandbox(Limits(timeout=20.0), isolate=isolate) as sandbox:
        reports = grade_many(batch, sandbox, source_rules=rules)
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
        refused = tmp_path / "refused.json"
        assert grade_cli(path, "--json", refused, "--require-isolation") == 2
        why = json.loads(refused.read_text())
        assert why["graded"] is False and "isolation was required" in why["error"]
        assert why["isolation"]["reason"] == "LMLIB_GRADE_ISOLATION=none turned it off"
    finally:
        isolation.probe.cache_clear()
    recorded = json.loads(out.read_text())["isolation"]
    assert recorded["tamper_proof"] is False and "NOT tamper-proof" in recorded["note"]
    assert recorded["reason"] == "LMLIB_GRADE_ISOLATION=none turned it off"
    said = capsys.readouterr()
    assert "isolation: NONE, not tamper-proof: LMLIB_GRADE_ISOLATION=none" in said.out
    assert "warning: NOT tamper-proof" in said.err and "isolation was required" in said.err


# source-level rules: code that could reach torch's internals or the grader's files never runs

TRICKS = {  # causal_mask cell -> what the reason names
    "getattr_internals": "def causal_mask(T):\n    C = getattr(torch, '_' + 'C')\n" + WRONG,
    "setattr_back": "def causal_mask(T):\n    setattr(torch, 'tril', torch.triu)\n" + WRONG,
    "dict_of_module": "def causal_mask(T):\n    ops = torch.__dict__['ops']\n" + WRONG,
    "vars_of_module": "def causal_mask(T):\n    ops = vars(torch)['ops']\n" + WRONG,
    "importlib": "import importlib\ndef causal_mask(T):\n" + WRONG,
    "sys_modules": "import sys\nC = sys.modules['torch._C']\ndef causal_mask(T):\n" + WRONG,
    "alias_then_private": "t = torch\nC = t._C\ndef causal_mask(T):\n" + WRONG,
    "from_import_private": "from torch import _C\ndef causal_mask(T):\n" + WRONG,
    "torch_ops": "def causal_mask(T):\n    return torch.ops.aten.ones(T, T).bool().tril()\n",
    "builtins_by_class": "k = ().__class__.__base__.__subclasses__()\ndef causal_mask(T):\n"
    + WRONG,
    "frame_globals": "def causal_mask(T):\n    g = (i for i in [1])\n    f = g.gi_frame.f_globals\n"
    + WRONG,
    "writes_the_result": "def causal_mask(T):\n    torch.save({}, '/proc/self/fd/3')\n" + WRONG,
    "opens_a_file": "def causal_mask(T):\n    open('/grader/request.pt', 'rb')\n" + WRONG,
    "eval_string": "def causal_mask(T):\n    return eval('torch.ones(T, T).bool().tril()')\n",
    "private_on_a_fake_self": "def causal_mask(self):\n    return self._C\n",
    "string_annotation": "from typing import get_type_hints\ndef causal_mask(T):\n" + WRONG,
    "star_import": "from torch import *\ndef causal_mask(T):\n" + WRONG,
}


def test_source_rules_refuse_dynamic_access_before_anything_runs():
    """Each trick is refused from its source, with the line and what it used, for the exercise
    whose cell holds it: no worker runs it, so the refusals cannot be undone for one call."""
    batch = [
        (with_cell("# EXERCISE: causal_mask\nimport torch\n" + code), name, ["causal_mask"])
        for name, code in TRICKS.items()
    ]
    with Sandbox(Limits(timeout=20.0), isolate=False) as sandbox:
        reports = grade_many(batch, sandbox)
    for name, report in zip(TRICKS, reports, strict=True):
        (v,) = report.verdicts
        assert v.status == "error" and v.points == 0 and v.seconds == 0, (name, v)
        assert v.message.startswith("refused: the causal_mask cell") and "line " in v.message


def test_every_switch_off_and_new_process_is_refused_by_the_source_rules():
    """The attacks that the run-time refusals and isolation stop are stopped earlier too."""
    cells = {**SWITCH_OFFS, **NEW_PROCESSES}
    verdicts, before, after = _grade_lstm_cells(cells, isolate=False, rules=True)
    for name, v in verdicts.items():
        assert v.status == "error" and v.message.startswith("refused:"), (name, v)
    assert after == before


@pytest.mark.parametrize("lab", sorted(FIXTURES["EXERCISES"]))
def test_solutions_and_their_helpers_obey_the_source_rules(lab):
    """Nothing a solution's exercise needs is refused or left out: the rules cost it nothing."""
    from lmlib.grading import notebook
    from lmlib.grading.judge import _checked_program

    cells = notebook.code_cells(json.loads(nbformat.writes(FIXTURES["solution_notebook"](lab))))
    for exercise in FIXTURES["EXERCISES"][lab]:
        program, refused, dropped = _checked_program(cells, exercise, True)
        assert refused == "" and dropped == [], (exercise, refused, dropped)
        assert program == notebook.program_for(cells, exercise)


def test_private_attributes_of_self_in_a_method_are_allowed():
    from lmlib.grading.rules import breaches

    ok = "class M:\n    def __init__(self):\n        super().__init__()\n        self._k = 1\n"
    dunder = "    def f(self):\n        return self._k + len(self.__class__.__name__)\n"
    assert breaches(ok + dunder)
    assert not breaches(ok + "    def f(self):\n        return self._k\n")
    rebound = ok + "    def f(self):\n        self = __import__('torch')\n        return self._C\n"
    assert {b.line for b in breaches(rebound)} == {6, 7}  # the __import__, the ._C
    shadow = ok + "    def f(self):\n        return (lambda self: self._C)(self)\n"
    assert [str(b) for b in breaches(shadow)] == [
        "line 6 reads the private attribute `._C` (only `self._C` in a method may)"
    ]


# hostile notebook files: exit 2 and a grade.json that says why, in bounded time and memory


def _broken(tmp_path: Path, name: str) -> Path:
    """A notebook file of the kind ``name`` names, in tmp_path."""
    path = tmp_path / f"{name}.ipynb"
    nb = with_cell(HEADER + "def causal_mask(T):\n" + WRONG)
    if name == "non_string_source":
        nb["cells"][1]["source"] = ["import torch\n", 7, None]
        path.write_text(json.dumps(nb))
    elif name == "lone_surrogate":
        text = json.dumps(nb).replace("import torch", "import torch  # \\udc80", 1)
        path.write_text(text)
    elif name == "huge":
        with open(path, "w") as f:
            f.write('{"cells": [], "pad": "')
            f.write("x" * (17 << 20))
            f.write('"}')
    elif name == "fifo":
        os.mkfifo(path)
    elif name == "dev_zero_link":
        path.symlink_to("/dev/zero")
    elif name == "directory":
        path.mkdir()
    elif name == "deeply_nested_json":
        path.write_text("[" * 100_000 + "]" * 100_000)
    return path


@pytest.mark.parametrize(
    "name, words",
    [
        ("non_string_source", "cell 2's source holds a int, not text"),
        ("lone_surrogate", "lone surrogate (U+DC80)"),
        ("huge", "over the 16 MB"),
        ("fifo", "is a FIFO"),
        ("dev_zero_link", "is a character device"),
        ("directory", "is a directory"),
        ("deeply_nested_json", "nested too deeply"),
    ],
)
def test_hostile_notebook_files_exit_2_with_a_grade_json_that_says_why(tmp_path, name, words):
    path, out = _broken(tmp_path, name), tmp_path / "grade.json"
    with deadline(60, f"grading the {name} notebook"):  # a FIFO must not hang the grader
        rc = grade_cli(path, "--json", out, "--isolation", "none")
    recorded = json.loads(out.read_text())
    assert rc == 2 and recorded["graded"] is False and words in recorded["error"], recorded
    assert recorded["points"] == 0 and recorded["exercises"] == []


def test_a_600_deep_expression_is_an_error_of_its_exercise_not_of_the_grader(tmp_path):
    deep = "x = " + "-" * 600 + "1\n"
    path, out = tmp_path / "deep.ipynb", tmp_path / "grade.json"
    path.write_text(json.dumps(with_cell(HEADER + deep + "def causal_mask(T):\n" + WRONG)))
    assert grade_cli(path, "--json", out, "--only", "causal_mask", "--isolation", "none") == 1
    (v,) = json.loads(out.read_text())["exercises"]
    assert v["status"] == "error" and "nests its code" in v["message"] and "deep" in v["message"]


def test_a_symlinked_notebook_is_graded_with_a_warning_naming_its_target(tmp_path, capsys):
    other = tmp_path / "other_student" / "lab.ipynb"
    other.parent.mkdir()
    other.write_text(json.dumps(with_cell(HEADER + "def causal_mask(T):\n" + WRONG)))
    link, out = tmp_path / "mine.ipynb", tmp_path / "grade.json"
    link.symlink_to(other)
    assert grade_cli(link, "--json", out, "--only", "causal_mask", "--isolation", "none") == 1
    recorded = json.loads(out.read_text())
    assert any(str(other) in w and "symbolic link" in w for w in recorded["warnings"]), recorded
    said = f"warning: {link} is a symbolic link: the file graded is {other}"
    assert said in capsys.readouterr().out


def test_planning_is_linear_in_chained_assignments():
    """A benchmark as a ratio: planning 4x the statements takes about 4x the time, not 16x
    (each step a chain ``a1 = a0 + 1``, ``a2 = a1 + 1``... that the exercise needs)."""
    from lmlib.grading import notebook

    def plan_seconds(n: int) -> float:
        chain = "a0 = 1\n" + "".join(f"a{i + 1} = a{i} + 1\n" for i in range(n))
        cells = [
            notebook.parse_cell(chain, "", 1),
            notebook.parse_cell(f"# EXERCISE: e\ndef e():\n    return a{n}\n", "e", 2),
        ]
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            program = notebook.program_for(cells, "e")
            best = min(best, time.process_time() - started)
        assert len(program) == n + 2
        return best

    assert plan_seconds(8000) / plan_seconds(2000) < 8


def test_sleeping_in_every_exercise_is_bounded_by_the_notebook_budget():
    """Five exercises that each sleep under the timeout: the notebook's budget, not five
    timeouts, bounds the time they get; the later ones say the budget ran out."""
    nb = json.loads(nbformat.writes(FIXTURES["solution_notebook"](LAB2)))
    for cell in nb["cells"]:
        if "".join(cell["source"]).startswith("# EXERCISE:"):
            cell["source"] = "".join(cell["source"]) + "\nimport time\n_ = time.sleep(2.5)\n"
    limits = Limits(timeout=3.0, budget=4.0)
    with Sandbox(limits, jobs=2, isolate=False) as sandbox:
        (report,) = grade_many([(nb, "sleepy", None)], sandbox)
    statuses = [v.status for v in report.verdicts]
    assert statuses.count("passed") <= 2 and statuses.count("timeout") >= 3, report.verdicts
    late = [v.message for v in report.verdicts if v.status == "timeout"]
    assert all("time budget of 4 s" in m for m in late), late
    assert sum(v.seconds for v in report.verdicts if v.status == "passed") <= 4.0 + 2 * 0.5


def test_student_text_is_escaped_in_the_markdown_summary_and_the_terminal():
    from lmlib.grading.judge import ExerciseScore, Report

    hostile = "![x](https://e.example/p.png) <img src=x> [go](javascript:alert(1)) | *b* \x1b[2K"
    report = Report("lab\n## fake heading.ipynb", LAB2, 0, isolation=isolation.NONE.as_dict())
    report.verdicts.append(ExerciseScore("causal_mask", "failed", 0.0, 1.0, hostile))
    report.warnings.append(hostile)
    md = grade.report.markdown(report)
    for raw in ("](", "<img", "[go]", "*b*", "\x1b", "\n## fake"):
        assert raw not in md, raw
    assert md.count("\n| ") == 2  # the header row and the one exercise: no row forged
    table = grade.report.table(report)
    assert "\x1b" not in table and "\n## fake" not in table
    assert "isolation: NONE, not tamper-proof: isolation was turned off" in table


def test_isolation_mounts_put_the_interpreter_over_the_scratch_tmpfs(monkeypatch):
    """An interpreter under /tmp is bound after /tmp's tmpfs, so it is visible inside; the root
    and /dev are made read-only last, and /dev/shm is a sized tmpfs."""
    monkeypatch.setattr(isolation, "_python_roots", lambda: ["/tmp/clone/.venv", "/usr"])
    args = isolation.mounts("/tmp/grader")
    pairs = [(args[i], args[i + 1]) for i in range(len(args) - 1)]
    assert pairs.index(("--tmpfs", "/tmp")) < pairs.index(("--ro-bind", "/tmp/clone/.venv"))
    assert args[-4:] == ["--remount-ro", "/dev", "--remount-ro", "/"]
    for place in ("/tmp", "/job", "/dev/shm"):
        at = args.index(place)
        assert args[at - 3 : at - 1] == ["--size", str(isolation.TMPFS_BYTES)], place


@pytest.mark.slow
@needs_isolation
def test_isolated_grading_works_with_the_interpreter_in_a_venv_under_tmp():
    """A venv under /tmp (as in a ``mktemp -d`` clone) grades isolated: its interpreter is
    visible inside the job although the job gets a fresh /tmp."""
    import site
    import subprocess
    import sys
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="lmlib-venv-", dir="/tmp"))
    try:
        subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", root], check=True)
        (pure,) = root.glob("lib/python*/site-packages")
        (pure / "shared.pth").write_text(f"{site.getsitepackages()[0]}\n{ROOT}\n")
        path, out = root / "lab.ipynb", root / "grade.json"
        cell = "# EXERCISE: causal_mask\nimport torch\ndef causal_mask(T):\n" + RIGHT_MASK
        path.write_text(json.dumps(with_cell(cell)))
        argv = ["-m", "lmlib", "grade", path, "--json", out, "--only", "causal_mask"]
        done = subprocess.run(
            [root / "bin" / "python", *argv, "--require-isolation"],
            capture_output=True,
            text=True,
            timeout=300,
            env={"PATH": "/usr/bin:/bin", "HOME": str(root)},
        )
        recorded = json.loads(out.read_text())
        assert done.returncode == 0, done.stdout + done.stderr
        assert recorded["isolation"]["tamper_proof"] and recorded["points"] == 1, recorded
        assert "isolation: tamper-proof" in done.stdout
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)


@pytest.mark.slow
@needs_isolation
def test_every_writable_place_in_the_sandbox_is_capped():
    """Writing 96 MB to /, /dev/shm, home, /tmp or /root fails inside the job (each is
    read-only or a 64 MB tmpfs), so disk-in-memory use is bounded."""
    cell = HEADER + (
        "def causal_mask(T):\n"
        "    full = []\n"
        "    for place in ['/', '/dev/shm', os.environ['HOME'], '/tmp', '/root']:\n"
        "        try:  # files of 8 MB, under the 16 MB file-size limit\n"
        "            for i in range(12):\n"
        "                with open(os.path.join(place, f'fill{i}'), 'wb') as f:\n"
        "                    f.write(bytes(8 << 20))\n"
        "        except OSError:\n"
        "            full.append(place)\n"
        "    if len(full) != 5:\n"
        "        raise ValueError(f'wrote 96 MB to {full}')\n" + RIGHT_MASK
    )
    with Sandbox(Limits(timeout=20.0), isolate=True) as sandbox:  # the rules refuse `os`
        (report,) = grade_many([(with_cell(cell), "fill", ["causal_mask"])], sandbox, None, False)
    (v,) = report.verdicts
    assert v.status == "passed", v


RIGHT_MASK = "    return torch.ones(T, T, dtype=torch.bool).tril()\n"


@pytest.mark.slow
@needs_isolation
def test_exercises_of_one_pool_pass_nothing_to_each_other():
    """One interpreter grades the notebook, but each exercise runs in a child of its own: what
    an earlier exercise wrote to the scratch places, its module state and its patches of torch
    are gone for the next, and it cannot signal the pool."""
    lab = "3_1_multihead_attention"
    nb = json.loads(nbformat.writes(FIXTURES["solution_notebook"](lab)))
    leave = (  # assignments, as the grader keeps only those of a cell's statements
        "import os, signal, torch\n"
        "_left = [open(os.path.join(p, 'left'), 'w').write('x') for p in ['/tmp', '/job', "
        "'/dev/shm']]\n"
        "_patched = setattr(torch, 'tril', None)\n"
        "_killed = os.kill(1, signal.SIGKILL)\n"
        "_interrupted = os.kill(1, signal.SIGINT)\n"
    )
    find = (  # an exercise that finds anything left behind undefines itself
        "import os, torch\n"
        "def _look():\n"
        "    left = ['/tmp/left', '/job/left', '/dev/shm/left']\n"
        "    return any(os.path.exists(p) for p in left) or torch.tril is None\n"
        "{name} = None if _look() else {name}\n"
    )
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if text.startswith("# EXERCISE: split_heads"):
            cell["source"] = text.replace("\n", "\n" + leave, 1)
        elif text.startswith("# EXERCISE:"):
            name = text.split("\n", 1)[0].split(":")[1].strip()
            cell["source"] = text + "\n" + find.format(name=name)
    with Sandbox(Limits(timeout=20.0), jobs=1, isolate=True) as sandbox:  # one pool
        (report,) = grade_many([(nb, "pool", None)], sandbox, 0, source_rules=False)
    messages = [v.message for v in report.verdicts]
    assert [v.status for v in report.verdicts] == ["passed"] * 5, messages


def test_explaining_a_failure_is_linear_in_the_notebook():
    """A benchmark as a ratio: the reason of a failing exercise in a notebook of n chained
    assignments, each followed by a statement the grader skips, costs about n, not n squared."""
    from lmlib.grading import layout, notebook

    def explain_seconds(n: int) -> float:
        chain = "a0 = 1\n" + "".join(f"a{i + 1} = a{i} + 1\nprint(a{i})\n" for i in range(n))
        cells = [
            notebook.parse_cell(chain, "", 1),
            notebook.parse_cell(f"# EXERCISE: e\ndef e():\n    return a{n} + zz\n", "e", 2),
        ]
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            text = layout.explain("NameError: name 'zz' is not defined", cells, "e")
            best = min(best, time.process_time() - started)
        assert "`zz` is not set at the top level of any cell" in text
        return best

    assert explain_seconds(2000) / explain_seconds(500) < 8


EARLY = (  # a full-marks result written before any case ran, then an exit
    HEADER + "def _forge():\n"
    "    answer = {'value': torch.ones(1)}\n"
    "    forged = {'defined': True, 'errors': [], 'output': '', 'cases': [answer] * 3}\n"
    "    buffer = io.BytesIO()\n"
    "    torch.save(forged, buffer)\n"
    "    if sys.argv[1:2] == ['pool']:\n"
    "        os.write(3, buffer.getvalue())\n"
    "    else:\n"
    "        open('../result.pt', 'wb').write(buffer.getvalue())\n"
    "    os._exit(3)\n"
    "_forged = _forge()\n"
)


@pytest.mark.parametrize(
    "isolate", [False, pytest.param(True, marks=[pytest.mark.slow, needs_isolation])]
)
def test_a_result_from_a_worker_that_did_not_finish_is_refused(isolate):
    """A result counts only from a worker that ran every case and exited as the worker does;
    the source-level rules refuse the cell before it runs at all."""
    batch = [(with_cell(EARLY), "early", ["causal_mask"])]
    with Sandbox(Limits(timeout=20.0), isolate=isolate) as sandbox:
        (unruled,) = grade_many(batch, sandbox, source_rules=False)
        (ruled,) = grade_many(batch, sandbox)
    (v,) = unruled.verdicts
    assert v.points == 0 and "did not finish" in v.message and "exit code 3" in v.message, v
    (v,) = ruled.verdicts
    assert v.points == 0 and v.message.startswith("refused:"), v
