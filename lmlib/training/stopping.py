"""Stopping a run cleanly: the first Ctrl-C (or a notebook's stop button) becomes a request
that the training loop honours at the next step boundary, so a checkpoint can be written."""

from __future__ import annotations

import signal
import threading


class StopRequest:
    """Turn the first Ctrl-C into a request honoured at the next step boundary (main thread)."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False
