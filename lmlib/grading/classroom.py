"""The GitHub Classroom workflow that grades every lab: one step per lab of the grading registry.

`lmlib student` writes it to grading/templates/github-classroom.yml with the repository URL and
the tag of this lmlib's version filled in, so the template, the notebooks and the book install
the same release.
"""

from __future__ import annotations

from pathlib import Path

from lmlib.grading.labs import lab_ids

TEMPLATE = Path("grading") / "templates" / "github-classroom.yml"

HEADER = """\
# GitHub Actions workflow for a student's repository (GitHub Classroom assignment template).
# Written by `lmlib student` from the labs lmlib grades -- edit lmlib/grading/classroom.py, not
# this file. Copy it to .github/workflows/classroom.yml in the template repository. It installs
# lmlib {version}, the release the notebooks' setup cells install (for a fork, replace the URL).
#
# The grade here is advisory: students control this file and the runner. The grade of record
# comes from re-running `lmlib grade` centrally (see book/instructors.md).
name: Autograding Tests  # GitHub Classroom reads the check run of this name

"on":
  - push
  - workflow_dispatch
  - repository_dispatch

permissions:
  checks: write
  actions: read
  contents: read

env:
  LMLIB: "lmlib @ git+{url}@v{version}"

jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4

      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"

      - name: Install the pinned lmlib and a CPU-only torch
        run: |
          python -m pip install --upgrade pip
          pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
          pip install "$LMLIB"

      # One step per graded lab: each writes grades/N_M.json, adds a table to the job summary and
      # sets the output `result` (GitHub Classroom's format). Exit 1 (below the pass mark) must
      # not stop the other labs, hence continue-on-error.
"""

STEP = """
      - name: Grade lab {number}
        id: {step}
        continue-on-error: true
        run: >-
          lmlib grade labs/{lab}.ipynb
          --json grades/{key}.json --classroom grades/{key}.b64
"""

FOOTER = """
      - name: Keep the grade files
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: grades
          path: grades/

      - name: Report points to GitHub Classroom
        if: always()
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {runners}
"""


def _key(lab: str) -> str:
    """'3_1_multihead_attention' -> '3_1' (part and position)."""
    part, position = lab.split("_")[:2]
    if not (part.isdigit() and position.isdigit()):
        raise ValueError(f"lab id {lab!r} does not start with N_M_ (part and position)")
    return f"{part}_{position}"


def workflow(url: str, version: str, labs: list[str] | None = None) -> str:
    """The workflow text grading `labs` (default: every lab lmlib grades) with lmlib `version`."""
    labs = sorted(labs if labs is not None else lab_ids())
    if not labs:
        raise ValueError("no labs to grade: pass lab ids such as '1_1_next_token_prediction'")
    keys = [_key(lab) for lab in labs]
    steps = "".join(
        STEP.format(number=k.replace("_", "."), step=f"lab{k}", lab=lab, key=k)
        for lab, k in zip(labs, keys)
    )
    env = "\n".join(
        f'          LAB{k}_RESULTS: "${{{{ steps.lab{k}.outputs.result }}}}"' for k in keys
    )
    runners = ",".join(f"lab{k}" for k in keys)
    return HEADER.format(url=url, version=version) + steps + FOOTER.format(env=env, runners=runners)
