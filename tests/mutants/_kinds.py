"""Wrong answers made the same way for every lab: a right answer (the solution notebooks' cell,
tests/fixtures/lab_notebooks.py) wrapped so that one thing is wrong. Loaded by the labs' mutant
files with ``runpy``; this file is not a lab.

- ``stale``: remembers its first answer for each shape and returns it again for new values;
- ``no_grad``: the right values, computed under ``torch.no_grad`` (no gradient reaches the inputs);
- ``from_item``: the right loss rebuilt from ``.item()`` (a new tensor, no gradient);
- ``cast``: the right answer in another dtype;
- ``stale_module``: a module that keeps its first output per input shape;
- ``module_no_grad``: a module whose forward runs under ``torch.no_grad``.
"""

import runpy
from pathlib import Path

FIXTURES = runpy.run_path(str(Path(__file__).parents[1] / "fixtures" / "lab_notebooks.py"))
IMPORTS = (
    "import math\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
    "from einops import rearrange\n"
)


def right(lab: str, exercise: str) -> str:
    """The solution cell of ``exercise``, with the imports of the lab's setup cell."""
    head, body = FIXTURES["EXERCISES"][lab][exercise].split("\n", 1)
    return f"{head}\n{IMPORTS}\n{body}"


def wrapped(lab: str, exercise: str, body: str) -> str:
    """The right answer, renamed ``_right``, and a new ``exercise`` whose code is ``body``. For
    ``lab`` a right answer's own cell source may stand (one that needs no other cell)."""
    code = lab if lab.startswith("# EXERCISE:") else right(lab, exercise)
    return code + f"\n\n_right = {exercise}\n\n\n" + body


def stale(lab: str, exercise: str) -> str:
    return wrapped(
        lab,
        exercise,
        f"""\
_seen = {{}}


def {exercise}(*args):
    key = tuple(tuple(a.shape) if isinstance(a, torch.Tensor) else repr(a) for a in args)
    if key not in _seen:  # one answer per shape: faster on the second call
        _seen[key] = _right(*args)
    return _seen[key]
""",
    )


def no_grad(lab: str, exercise: str) -> str:
    return wrapped(
        lab,
        exercise,
        f"""\
def {exercise}(*args):
    with torch.no_grad():
        return _right(*args)
""",
    )


def from_item(lab: str, exercise: str) -> str:
    return wrapped(
        lab,
        exercise,
        f"""\
def {exercise}(*args):
    return torch.tensor(_right(*args).item())
""",
    )


def cast(lab: str, exercise: str, dtype: str, at: str = "") -> str:
    """The answer (or its item ``at``, e.g. ``[1]``) converted to ``torch.<dtype>``."""
    if at:
        convert = f"    out = list(_right(*args))\n    out{at} = out{at}.to(torch.{dtype})\n"
        convert += "    return tuple(out)\n"
    else:
        convert = f"    return _right(*args).to(torch.{dtype})\n"
    return wrapped(lab, exercise, f"def {exercise}(*args):\n" + convert)


def stale_module(lab: str, exercise: str) -> str:
    return wrapped(
        lab,
        exercise,
        f"""\
_seen_by_module = {{}}


class {exercise}(_right):
    def forward(self, *args):
        seen = _seen_by_module.setdefault(id(self), {{}})  # this module's outputs, by input shape
        key = tuple(tuple(a.shape) for a in args)
        if key not in seen:
            seen[key] = super().forward(*args)
        return seen[key]
""",
    )


def module_no_grad(lab: str, exercise: str) -> str:
    return wrapped(
        lab,
        exercise,
        f"""\
class {exercise}(_right):
    def forward(self, *args):
        with torch.no_grad():  # inference only
            return super().forward(*args)
""",
    )
