"""Every committed result was produced from a clean commit: no `-dirty` git_commit anywhere under
results/ (a run from uncommitted code cannot be reproduced from the repository)."""

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def commits(obj) -> list[str]:
    """Every git_commit value in a results record, at any depth."""
    if isinstance(obj, dict):
        found = [obj["git_commit"]] if isinstance(obj.get("git_commit"), str) else []
        return found + [c for v in obj.values() for c in commits(v)]
    if isinstance(obj, list):
        return [c for v in obj for c in commits(v)]
    return []


def dirty_results() -> set[str]:
    return {
        str(p.relative_to(RESULTS))
        for p in RESULTS.rglob("*.json")
        if any(c.endswith("-dirty") for c in commits(json.loads(p.read_text())))
    }


def test_no_result_comes_from_a_dirty_commit():
    dirty = sorted(dirty_results())
    assert not dirty, f"results from uncommitted code (commit first, then rerun): {dirty}"


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)


def test_every_result_comes_from_a_commit_in_this_history():
    try:
        shallow = git("rev-parse", "--is-shallow-repository")
    except (OSError, subprocess.SubprocessError):
        pytest.skip("git is not available")
    if shallow.returncode != 0 or shallow.stdout.strip() != "false":
        pytest.skip("not a full git checkout: the history cannot be searched")
    found = {c for p in RESULTS.rglob("*.json") for c in commits(json.loads(p.read_text()))}
    missing = sorted(
        c for c in found if git("merge-base", "--is-ancestor", c, "HEAD").returncode != 0
    )
    assert not missing, f"results from commits that are not in this history: {missing}"


def test_commits_are_found_at_any_depth():
    record = {"git_commit": "abc", "runs": [{"git_commit": "def-dirty"}, {"x": 1}]}
    assert commits(record) == ["abc", "def-dirty"]
