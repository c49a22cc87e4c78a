"""The engine's thread: feeds the listener's queue to the companion and ticks it every couple of milliseconds."""

from __future__ import annotations

import queue
import time

from livegen.live.engine.companion import CLOCK_MESSAGES, Companion
from livegen.live.recorder import PLAYER, Recorder
from livegen.live.worker import Worker

CHANNEL_MESSAGES = frozenset({"note_on", "note_off", "control_change", "pitchwheel",
                              "aftertouch", "polytouch", "program_change"})


class EngineThread(Worker):
    """Feeds queued player messages to the companion and ticks it every couple of milliseconds."""

    def __init__(self, companion: Companion, inbox: queue.SimpleQueue, recorder: Recorder, on_error,
                 now=time.perf_counter, poll_seconds=0.002) -> None:
        self.companion = companion
        self.inbox = inbox
        self.recorder = recorder
        self.on_error = on_error
        self.now = now
        self.poll_seconds = poll_seconds
        super().__init__("livegen-engine")

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self._take(*self.inbox.get(timeout=self.poll_seconds))
                    while True:
                        self._take(*self.inbox.get_nowait())
                except queue.Empty:
                    pass
                self.companion.tick(self.now())
            self._drain()
        except Exception as error:  # reported by the session, which then stops cleanly
            self.on_error(error)

    def _drain(self) -> None:
        """On the way out, take what is still queued so the recording keeps every player note."""
        try:
            while True:
                self._take(*self.inbox.get_nowait())
        except queue.Empty:
            pass

    def _take(self, at: float, message) -> None:
        if message.type in CLOCK_MESSAGES:
            self.companion.hear(message, at)
            return
        if message.type not in CHANNEL_MESSAGES:
            return  # sysex, active sensing and the like are not the player's notes
        self.recorder.record(PLAYER, at, message)
        self.companion.hear(message, at)
