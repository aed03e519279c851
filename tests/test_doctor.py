import re
from types import SimpleNamespace
from unittest import mock

import pytest
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


def test_doctor_places_the_machine_on_the_price_trend(capsys, monkeypatch):
    from lmlib.analysis.price_performance import fit_trend
    from lmlib.data.compute_prices import years_and_values

    monkeypatch.setattr(doctor, "matmul_flops", lambda device: 1e12)
    assert main(["doctor", "--no-compile", "--price", "$1,000"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "price-perf." in x)
    assert "1 GFLOP/s per dollar at $1,000" in line
    year = int(re.search(r"x the (\d{4}) trend line", line).group(1))
    times = 1e9 / fit_trend(*years_and_values()).at(year)
    assert f"{times:.2g} x the {year}" in line


def test_doctor_refuses_a_price_that_is_not_positive(capsys):
    for bad in ("0", "-5", "cheap"):
        with pytest.raises(SystemExit):
            main(["doctor", "--no-compile", "--price", bad])
        assert "--price" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, cc, says",
    [
        ("Tesla T4", (7, 5), "fp16 with a grad scaler, because compute capability 7.5 < 8.0"),
        ("NVIDIA A100-SXM4-40GB", (8, 0), "bf16, because compute capability 8.0 >= 8.0"),
        ("NVIDIA H100 80GB HBM3", (9, 0), "bf16, because compute capability 9.0 >= 8.0"),
    ],
)
def test_doctor_names_the_precision_and_why(capsys, monkeypatch, name, cc, says):
    gpu = SimpleNamespace(name=name, total_memory=16 * 2**30, major=cc[0], minor=cc[1])
    monkeypatch.setattr(doctor, "pick_device", lambda prefer: torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: gpu)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device: cc)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # as on a T4
    monkeypatch.setattr(doctor, "matmul_flops", lambda device: 1e12)
    monkeypatch.setattr(doctor, "self_check", lambda device: 0.0)
    assert main(["doctor", "--no-compile"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("autocast"))
    assert says in line
