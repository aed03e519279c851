"""Grading the labs: in-notebook feedback (``check``) and sandboxed grading (``lmlib grade``).

- ``checker(lab)`` / ``check(fn, lab)``: run an exercise's checks in the notebook, print a verdict.
- ``lmlib grade NOTEBOOK``: grade a notebook outside the student's kernel (``grade.py``).
- ``lmlib student``: generate student notebooks from solution notebooks (``student.py``).
- Exercise specs live in ``labs/`` (one module per lab), their format in ``spec.py``.
"""

from lmlib.grading.checker import CheckResult, check, checker, run_check
from lmlib.grading.spec import Case, Exercise

__all__ = ["Case", "Exercise", "CheckResult", "check", "checker", "run_check"]
