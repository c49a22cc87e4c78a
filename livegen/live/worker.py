"""One thread per role: the listener, the engine and the scheduler start and stop alike."""

from __future__ import annotations

import threading

JOIN_SECONDS = 2.0


class Worker:
    """A daemon thread running the subclass's ``run`` until ``stop``; ``run`` watches ``self._stopping``."""

    def __init__(self, name: str) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it (not from the thread itself, nor for ever)."""
        self._stopping.set()
        self._join()

    def _join(self) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=JOIN_SECONDS)
