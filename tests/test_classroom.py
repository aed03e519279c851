"""The GitHub Classroom template grades every lab, with the release the notebooks install."""

from pathlib import Path

import pytest

import lmlib
from lmlib.grading import classroom
from lmlib.grading.labs import lab_ids
from lmlib.grading.student import repo_url

ROOT = Path(__file__).resolve().parents[1]
URL = "https://github.com/example/course"


def steps(text: str) -> list[dict]:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(text)["jobs"]["run-autograding-tests"]["steps"]


def test_workflow_has_one_grading_step_per_lab_and_reports_each():
    labs = lab_ids()
    text = classroom.workflow(URL, "1.2.3")
    graded = [s for s in steps(text) if s.get("name", "").startswith("Grade lab")]
    assert [s["run"].split()[2] for s in graded] == [f"labs/{lab}.ipynb" for lab in labs]
    assert all((ROOT / "labs" / f"{lab}.ipynb").exists() for lab in labs)
    assert all(s["continue-on-error"] is True for s in graded)  # one low grade stops nothing
    report = steps(text)[-1]
    runners = report["with"]["runners"].split(",")
    assert runners == [s["id"] for s in graded] and len(set(runners)) == len(labs)
    # the reporter reads each runner's result from the variable <RUNNER>_RESULTS
    assert report["env"] == {
        f"{r.upper()}_RESULTS": f"${{{{ steps.{r}.outputs.result }}}}" for r in runners
    }


def test_workflow_installs_the_tag_of_the_version():
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load(classroom.workflow(URL, "1.2.3"))["env"]["LMLIB"]
    assert spec == f"lmlib @ git+{URL}@v1.2.3"


def test_committed_template_is_the_generated_one():
    path = ROOT / classroom.TEMPLATE
    want = classroom.workflow(repo_url(ROOT), lmlib.__version__)
    assert path.read_text(encoding="utf-8") == want, (
        f"{classroom.TEMPLATE} is stale: run `lmlib student` and commit the result"
    )


def test_bad_lab_lists_are_refused():
    with pytest.raises(ValueError, match="N_M_"):
        classroom.workflow(URL, "1.2.3", ["next_token_prediction"])
    with pytest.raises(ValueError, match="no labs"):
        classroom.workflow(URL, "1.2.3", [])
