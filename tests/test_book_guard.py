"""The book build's notebook guard: a notebook past its budget, or a kernel idle without a reply,
fails at once with the notebook and the cell named (real kernels, tiny notebooks)."""

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from lmlib.tools.book_guard import ExecutionStalled, GuardedClient, setup


def notebook(*sources: str):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["lmlib"] = {"lab": "99_guarded"}
    return nb


@pytest.mark.slow
def test_a_notebook_past_its_budget_fails_naming_the_cell(monkeypatch):
    monkeypatch.setenv("LMLIB_BOOK_NOTEBOOK_S", "3")
    nb = notebook("x = 1", "import time\ntime.sleep(120)")
    with pytest.raises(ExecutionStalled, match=r"99_guarded, cell 1 \('import time'\).*3 s budget"):
        GuardedClient(nb, timeout=600, kernel_name="python3").execute()


@pytest.mark.slow
def test_an_idle_kernel_that_never_replies_fails_fast(monkeypatch):
    """The execute_reply is dropped on its way in: the kernel reports idle and never answers."""
    monkeypatch.setenv("LMLIB_BOOK_IDLE_S", "2")
    execute_cell = GuardedClient.async_execute_cell

    async def without_replies(self, *args, **kwargs):
        get = self.kc.shell_channel.get_msg

        async def drop_replies(*a, **k):
            while True:
                msg = await get(*a, **k)
                if msg["msg_type"] != "execute_reply":
                    return msg

        self.kc.shell_channel.get_msg = drop_replies
        return await execute_cell(self, *args, **kwargs)

    monkeypatch.setattr(GuardedClient, "async_execute_cell", without_replies)
    client = GuardedClient(notebook("x = 1", "y = 2"), timeout=600, kernel_name="python3")
    with pytest.raises(ExecutionStalled, match=r"99_guarded, cell 0 .*went idle"):
        client.execute()


def test_bad_settings_and_the_sphinx_hook(monkeypatch):
    from nbclient import client

    from lmlib.tools.book_guard import _seconds

    monkeypatch.setenv("LMLIB_BOOK_IDLE_S", "soon")
    with pytest.raises(ValueError, match="LMLIB_BOOK_IDLE_S='soon' must be a number"):
        _seconds("LMLIB_BOOK_IDLE_S", 60)
    monkeypatch.setenv("LMLIB_BOOK_IDLE_S", "")
    assert _seconds("LMLIB_BOOK_IDLE_S", 60) == 60
    monkeypatch.setattr(client, "NotebookClient", client.NotebookClient)
    assert setup(None)["parallel_read_safe"] and client.NotebookClient is GuardedClient
