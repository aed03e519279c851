"""Bounded notebook execution for the book: a notebook that runs past its budget, or a kernel that
goes idle without replying, fails the build at once, naming the notebook and the cell.

jupyter-book runs each notebook through nbclient (by way of jupyter-cache). nbclient waits for a
cell's ``execute_reply`` for as long as the cell timeout allows, even after the kernel has
reported itself idle, and nothing bounds a whole notebook. This module is a Sphinx extension
(``sphinx.extra_extensions`` in ``_config.yml``) that replaces nbclient's ``NotebookClient`` with
``GuardedClient`` before any notebook runs. ``GuardedClient``:

- fails a cell whose kernel has published ``idle`` for it but sent no reply within
  ``LMLIB_BOOK_IDLE_S`` seconds (default 60): the kernel will never answer;
- fails the notebook when its cells together run past ``LMLIB_BOOK_NOTEBOOK_S`` seconds
  (default 2400).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from nbclient import client as nbclient
from nbclient.exceptions import CellTimeoutError


class ExecutionStalled(CellTimeoutError):
    """A notebook ran past its budget, or its kernel went idle without replying."""


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError as e:
        raise ValueError(f"{name}={value!r} must be a number of seconds") from e


class GuardedClient(nbclient.NotebookClient):
    """nbclient's NotebookClient with a per-notebook budget and an idle-kernel watchdog."""

    def _where(self, cell: Any, index: int) -> str:
        meta = self.nb.metadata.get("lmlib", {}) if hasattr(self.nb, "metadata") else {}
        name = meta.get("lab") if isinstance(meta, dict) else None
        name = name or self.resources.get("metadata", {}).get("path") or "a notebook"
        first = str(cell.get("source", "")).strip().split("\n", 1)[0][:80]
        return f"{name}, cell {index} ({first!r})"

    async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any, **kw: Any) -> Any:
        if not hasattr(self, "_deadline"):  # one client per notebook: the clock starts here
            self._budget = _seconds("LMLIB_BOOK_NOTEBOOK_S", 2400.0)
            self._deadline = time.monotonic() + self._budget
        self._current = (cell, cell_index)
        return await super().async_execute_cell(cell, cell_index, *args, **kw)

    async def _async_poll_for_reply(
        self, msg_id: str, cell: Any, timeout: Any, task_poll_output_msg: Any, *rest: Any
    ) -> dict[str, Any]:
        grace = _seconds("LMLIB_BOOK_IDLE_S", 60.0)
        reply = asyncio.ensure_future(
            super()._async_poll_for_reply(msg_id, cell, timeout, task_poll_output_msg, *rest)
        )
        _, index = getattr(self, "_current", (cell, "?"))
        deadline = getattr(self, "_deadline", float("inf"))
        idle_since = None
        while not reply.done():
            await asyncio.wait({reply}, timeout=min(1.0, grace))
            if reply.done():
                break
            why = None
            if time.monotonic() > deadline:
                why = f"the notebook ran past its {self._budget:g} s budget (LMLIB_BOOK_NOTEBOOK_S)"
            elif task_poll_output_msg.done():  # iopub said idle for this cell
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > grace:
                    why = (
                        f"the kernel went idle but sent no reply for {grace:g} s "
                        "(LMLIB_BOOK_IDLE_S); it will not answer, so the build stops"
                    )
            if why:
                for task in (reply, task_poll_output_msg, *rest):
                    if isinstance(task, asyncio.Future):
                        task.cancel()
                raise ExecutionStalled(f"{self._where(cell, index)}: {why}")
        return reply.result()


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point: every notebook the build executes goes through GuardedClient."""
    nbclient.NotebookClient = GuardedClient
    return {"parallel_read_safe": True, "parallel_write_safe": True}
