import json
from pathlib import Path

import pytest

from lmlib.experiments.labs import _LABS, settings
from lmlib.runtime.profiles import PROFILES
from lmlib.tools.plans import PLANS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("lab", sorted(_LABS))
def test_every_notebook_reads_its_sizes_from_lmlib(lab):
    nb = json.loads((ROOT / "labs" / "solutions" / f"{lab}.ipynb").read_text())
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert f'settings("{lab}")' in code
    assert "by_profile(\n    ci=dict" not in code  # no second copy of the sizes in the notebook


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_has_the_same_keys_and_plans_read_them(profile):
    for lab, table in _LABS.items():
        assert set(table) == set(PROFILES)
        assert set(settings(lab, profile)) == set(settings(lab, "ci"))
        assert PLANS[lab](profile) > 0


def test_settings_are_copies_and_bad_names_are_refused(monkeypatch):
    s = settings("3_2_mlp", "cpu")
    s["sizes"]["seeds"].append(99)
    assert settings("3_2_mlp", "cpu")["sizes"]["seeds"] == [0, 1, 2]
    monkeypatch.setenv("LMLIB_PROFILE", "gpu")
    assert settings("3_1_multihead_attention")["sizes"]["steps"] == 1400
    with pytest.raises(ValueError, match="no settings for lab '99_x'"):
        settings("99_x")
    with pytest.raises(ValueError, match="unknown profile 'tpu'"):
        settings("3_2_mlp", "tpu")
