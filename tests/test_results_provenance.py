"""Every committed result was produced from a clean commit: no `-dirty` git_commit anywhere under
results/ (a run from uncommitted code cannot be reproduced from the repository)."""

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"

# Measured before this check existed and not yet rerun from a clean commit; each entry must still
# be dirty (a rerun removes it from here), and no new file may join the list.
KNOWN_DIRTY = {
    "incentives/ci-seed0.json",
    "incentives/cpu-seed0.json",
    "three_families/cpu-seed0.json",
}


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
    new = dirty_results() - KNOWN_DIRTY
    assert not new, f"results from uncommitted code (commit first, then rerun): {sorted(new)}"


def test_the_known_dirty_list_only_shrinks():
    fixed = KNOWN_DIRTY - dirty_results()
    assert not fixed, f"rerun from a clean commit: remove {sorted(fixed)} from KNOWN_DIRTY"


def test_commits_are_found_at_any_depth():
    record = {"git_commit": "abc", "runs": [{"git_commit": "def-dirty"}, {"x": 1}]}
    assert commits(record) == ["abc", "def-dirty"]
