from unittest import mock

import pytest
import torch

from lmlib.runtime.profiles import PROFILE_ENV, by_profile, current_profile


def test_environment_variable_wins(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "GPU")
    assert current_profile() == "gpu"
    assert by_profile(ci=1, cpu=2, gpu=3) == 3


def test_automatic_choice(monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    monkeypatch.setenv("CI", "true")
    assert current_profile() == "ci"
    monkeypatch.delenv("CI")
    with mock.patch.object(torch.cuda, "is_available", return_value=True):
        assert current_profile() == "gpu"
    with mock.patch.object(torch.cuda, "is_available", return_value=False):
        assert current_profile() == "cpu"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "huge")
    with pytest.raises(ValueError, match="huge"):
        current_profile()
    with pytest.raises(ValueError):
        by_profile(1, 2, 3, profile="tiny")
