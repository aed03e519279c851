"""Forbidden shortcuts refused while an answer runs, by name, by route and by kernel.

A forbidden name is refused three ways: the attribute is replaced, and so is every other attribute
of torch that holds it or a subclass of it (``torch.nn.modules.Conv1d``, ``LazyConv1d``), as are
torch's Python decompositions of it (``torch._decomp``, ``torch._refs``), which compute it from ops
a student may use; a ``TorchFunctionMode`` refuses the function by name whichever Python route
reaches it (``torch._C._VariableFunctions``, ``torch.ops.aten``, ``torch._VF``), as it does the
named aten ops of a spec (``nll_loss_forward``); and where the name is an aten op, its kernel in
torch's dispatcher is replaced by one that raises, so no route reaches it: not a popped mode stack,
``torch._C.DisableTorchFunction``, another thread, nor an allowed function that calls it inside.
After every case ``Forbidden.tampered`` checks that all three are still in place; an answer that
switched one off gets an error for that case and the ones after it. (A ``TorchDispatchMode``
would see kernels too, but its first use costs seconds in every fresh worker.)

Like ``answers.py``, which uses it, it imports nothing from lmlib: both are copied alone into a
bubblewrap job.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import torch
from torch.overrides import TorchFunctionMode


class NotAllowed(RuntimeError):
    """Raised by a forbidden library function while an exercise runs."""


class Refuse:
    """Meta-path finder: lmlib holds the reference solutions, so it cannot be imported here."""

    def find_spec(self, name, path=None, target=None):
        if name == "lmlib" or name.startswith("lmlib."):
            raise ImportError(
                "lmlib is not available while grading: the exercise is yours to write"
            )
        return None


class _Guard(TorchFunctionMode):
    """Refuses a forbidden torch function by name, whichever route reaches it: ``torch.lstm_cell``,
    ``torch._C._VariableFunctions.lstm_cell``, ``torch.ops.aten.lstm_cell``, ``torch._VF``..."""

    def __init__(self, names: dict[str, str]):
        super().__init__()
        self.names = names

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "") or ""
        name = name.rsplit("::", 1)[-1].split(".")[0]
        if name in self.names:
            raise NotAllowed(f"{name} is not allowed in this exercise: {self.names[name]}")
        return func(*args, **(kwargs or {}))


# torch's own entry points and a few builtins, taken before any submission can replace them
_stack_len, _stack_at = torch._C._len_torch_function_stack, torch._C._get_function_stack_at
_functions_on, _dump = torch._C._is_torch_function_enabled, torch._C._dispatch_dump
_pop = torch._C._pop_torch_function_stack
_has_kernel = torch._C._dispatch_has_kernel_for_dispatch_key
_schemas, _Library = torch._C._jit_get_schemas_for_operator, torch.library.Library
_GUARD_CALL = _Guard.__dict__["__torch_function__"]
_type, _vars, _dict, _getattr = type, vars, dict, getattr
# where an aten op's CPU work is done; a refusing kernel replaces the op's own at each it has
KERNEL_KEYS = ("CompositeImplicitAutograd", "CompositeExplicitAutograd", "CPU")


def _active_kernel(op: str, key: str) -> str:
    """The dispatcher's line for the kernel ``op`` runs at ``key`` (it names who registered it)."""
    for line in _dump(op).splitlines():
        if line.startswith((f"{key}:", f"{key}[alias]:")):
            return line
    return ""


class Forbidden:
    """The refusals of one exercise, in place from ``forbid`` until ``undo``."""

    def __init__(self, forbidden: dict[str, str], ops: dict[str, str] | None):
        self.replaced = []  # (owner, attribute, original, stand-in)
        self.names = {d.rsplit(".", 1)[-1]: hint for d, hint in forbidden.items()} | dict(ops or {})
        self.depth, self.guard, self.attrs = _stack_len(), None, {}
        self.library, self.kernels = None, {}  # (aten op, dispatch key) -> the dispatcher's line
        self.entries = []  # (table, key, original, stand-in): decomposition table entries
        try:
            for dotted, hint in forbidden.items():
                self._replace(dotted, hint)
            if self.names:
                self._close_other_routes()
                self.guard = _Guard(dict(self.names))
                self.guard.__enter__()
                self.attrs = _dict(_vars(self.guard))
            for name, hint in self.names.items():
                self._refuse_kernels(name, hint)
        except BaseException:  # half in place: take it all back, so torch is left as it was
            self.undo()
            raise

    def _replace(self, dotted: str, hint: str) -> None:
        parts = dotted.split(".")
        try:
            owner = importlib.import_module(parts[0])
            for p in parts[1:-1]:
                owner = getattr(owner, p)
            original = getattr(owner, parts[-1])
        except (ImportError, AttributeError):
            return

        def refuse(*args, **kwargs):
            raise NotAllowed(f"{dotted} is not allowed in this exercise: {hint}")

        try:
            setattr(owner, parts[-1], refuse)
        except (AttributeError, TypeError):  # read-only (torch._C._VariableFunctions): the
            return  # function mode and the kernel below still refuse it
        self.replaced.append((owner, parts[-1], original, refuse))

    def _close_other_routes(self) -> None:
        """The same refusals wherever else torch keeps them: every alias of a refused object
        (``torch.nn.modules.Conv1d`` is ``torch.nn.Conv1d``), every subclass of a refused class
        (``LazyConv1d``, the quantizable ``MultiheadAttention``), and the Python decompositions
        and references of a refused op (``torch._decomp``, ``torch._refs``, ``torch._prims``),
        which compute it from elementary ops no dispatcher refusal can tell from a student's."""
        originals = {id(o): (o, a, r) for _, a, o, r in self.replaced}
        classes = [(o, a, r) for o, a, r in originals.values() if _type(o) is type]
        stems = {n.strip("_").lower() for n in self.names}
        done = {(id(owner), attr) for owner, attr, _, _ in self.replaced}
        for name, module in list(sys.modules.items()):
            if not (name == "torch" or name.startswith("torch.")) or module is None:
                continue
            internal = name.startswith(("torch._decomp", "torch._refs", "torch._prims"))
            try:
                items = list(_vars(module).items())
            except TypeError:
                continue
            for attr, value in items:
                if (id(module), attr) in done or _type(value).__name__ == "module":
                    continue
                hit = originals.get(id(value))
                if hit is None and _type(value) is type:
                    hit = next(((o, a, r) for o, a, r in classes if _subclass(value, o)), None)
                if hit is None and internal and callable(value):
                    key = attr.strip("_").lower()
                    stem = next((t for t in stems if t in key), None)
                    if stem is not None:
                        hit = (value, attr, self._refusal(f"{name}.{attr}", stem))
                if hit is not None:
                    try:
                        setattr(module, attr, hit[2])
                    except (AttributeError, TypeError):
                        continue
                    done.add((id(module), attr))
                    self.replaced.append((module, attr, value, hit[2]))
        table = _getattr(sys.modules.get("torch._decomp"), "decomposition_table", None)
        if _type(table) is _dict:
            for op, fn in list(table.items()):
                key = str(_getattr(op, "_opname", "")).strip("_").lower()
                stem = next((t for t in stems if t and t in key), None)
                if stem is not None:
                    refuse = self._refusal(f"the decomposition of {key}", stem)
                    table[op] = refuse
                    self.entries.append((table, op, fn, refuse))

    def _refusal(self, what: str, stem: str):
        hint = next((h for n, h in self.names.items() if n.strip("_").lower() == stem), "")

        def refuse(*args, **kwargs):
            raise NotAllowed(f"{what} is not allowed in this exercise: {hint}")

        return refuse

    def _refuse_kernels(self, name: str, hint: str) -> None:
        """Replace the kernels of aten op ``name`` (every overload) with one that raises."""

        def refuse(*args, **kwargs):
            raise NotAllowed(f"{name} is not allowed in this exercise: {hint}")

        for schema in _schemas(f"aten::{name}"):
            op = schema.name + (f".{schema.overload_name}" if schema.overload_name else "")
            for key in KERNEL_KEYS:
                if not _has_kernel(op, key):
                    continue
                if self.library is None:
                    self.library = _Library("aten", "IMPL")
                with warnings.catch_warnings():  # "overriding a previously registered kernel"
                    warnings.simplefilter("ignore")
                    self.library.impl(op.removeprefix("aten::"), refuse, key)
                self.kernels[(op, key)] = _active_kernel(op, key)

    def tampered(self) -> str:
        """'' while every refusal is in place, else which one the answer switched off."""
        try:
            if not _functions_on():
                return "torch functions were disabled (torch._C.DisableTorchFunction)"
            guard = self.guard
            if guard is not None:
                if _stack_len() <= self.depth or _stack_at(self.depth) is not guard:
                    return "the guard was taken off torch's function-mode stack"
                if (
                    _type(guard) is not _Guard
                    or _Guard.__dict__.get("__torch_function__") is not _GUARD_CALL
                    or _vars(guard) != self.attrs
                    or guard.names != self.names
                ):
                    return "the guard on torch's function-mode stack was changed"
            for owner, attr, _, refuse in self.replaced:
                if _getattr(owner, attr, None) is not refuse:
                    return f"{attr} was put back in place of its refusal"
            for table, op, _, refuse in self.entries:
                if table.get(op) is not refuse:
                    return f"the decomposition of {op} was put back in place of its refusal"
            for (op, key), line in self.kernels.items():
                if _active_kernel(op, key) != line:
                    return f"the refusing kernel of {op} was removed or replaced"
        except BaseException as e:  # whatever broke the check was done by the answer
            return f"the guard could not be verified ({_type(e).__name__})"
        return ""

    def undo(self) -> None:
        """Lift every refusal and leave torch's mode stack as it was before ``forbid``."""
        if self.library is not None:
            self.library._destroy()
        while self.guard is not None and _stack_len() > self.depth:
            _pop()
        for owner, attr, original, _ in reversed(self.replaced):
            setattr(owner, attr, original)
        for table, op, original, _ in reversed(self.entries):
            table[op] = original


def _subclass(cls, base) -> bool:
    try:
        return _type(base) is type and cls is not base and issubclass(cls, base)
    except BaseException:
        return False


def forbid(forbidden: dict[str, str], ops: dict[str, str] | None = None) -> Forbidden:
    """Replace each dotted name with a function that raises, refuse the same names (and the aten
    op names in ``ops``) in torch's function mode and, for aten ops, in the dispatcher."""
    return Forbidden(forbidden, ops)
