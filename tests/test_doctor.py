import re
from unittest import mock

import torch

from lmlib.tools import doctor
from lmlib.tools.cli import main


def test_doctor_reports_and_self_checks(capsys):
    assert main(["doctor", "--no-compile"]) == 0
    out = capsys.readouterr().out
    for key in ("torch", "device", "autocast", "profile", "self-check"):
        assert key in out
    assert "ok" in out.splitlines()[-1]


def test_doctor_prints_the_measured_matmul_rate(capsys, monkeypatch):
    monkeypatch.setattr(doctor, "matmul_flops", lambda device: 1234.4e9)
    assert main(["doctor", "--no-compile"]) == 0
    assert re.search(r"fp32 matmul +1,234 GFLOP/s \(measured", capsys.readouterr().out)


def test_compile_probe_reports_failure():
    with mock.patch.object(torch, "compile", side_effect=RuntimeError("no compiler\nmore")):
        ok, why = doctor.compile_works()
    assert not ok and "no compiler" in why and "more" not in why


def test_self_check_on_cpu_is_exact():
    assert doctor.self_check(torch.device("cpu")) == 0.0
