"""The listener thread: takes each message off an input port's queue, stamps it, hands it on.

rtmidi keeps incoming messages in its own queue when no Python callback is set, so JACK's
process thread never waits for Python's GIL (with a callback it did, for up to the 5 ms switch
interval, and JACK dropped the periods it missed: 3.6-5.5 % of a flood, TESTING.md).
"""

from __future__ import annotations

import time

import mido

from livegen.live.worker import Worker

POLL_SECONDS = 0.001


class ArrivalStamps:
    """Turns rtmidi's delta times into times on the listener's clock.

    rtmidi stamps a message when JACK's cycle takes it in, as seconds since the message before.
    Chained, the deltas keep the spacing exact however late the queue is read; each time is then
    held between the last read that found the queue empty (the message came after it) and the
    read that found it (it came before), so a wrong start or a lost delta cannot last.
    """

    def __init__(self) -> None:
        self.previous: float | None = None
        self.earliest: float | None = None

    def found_empty(self, at: float) -> None:
        """The queue was empty at ``at``: every message read from now on came later."""
        self.earliest = at

    def stamp(self, delta: float, read_at: float) -> float:
        """The arrival time of a message read at ``read_at``, ``delta`` seconds after the one before."""
        guess = read_at if self.previous is None else self.previous + delta
        if self.earliest is not None:
            guess = max(guess, self.earliest)
        self.previous = min(guess, read_at)
        return self.previous


class Listener(Worker):
    """One thread per input port: polls rtmidi's queue and delivers ``(time, message)``."""

    def __init__(self, port, deliver, now=time.perf_counter, poll_seconds: float = POLL_SECONDS) -> None:
        self.port = port
        self.deliver = deliver
        self.now = now
        self.poll_seconds = poll_seconds
        self.stamps = ArrivalStamps()
        super().__init__(f"livegen-listener {port.name}")

    def run(self) -> None:
        """Poll until stopped, then take what is already queued."""
        while not self._stopping.is_set():
            self.take_waiting()
            self._stopping.wait(self.poll_seconds)
        self.take_waiting()  # what came before the stop is still the player's

    def take_waiting(self) -> int:
        """Deliver every message waiting in the port's queue; returns how many were read."""
        count = 0
        while True:
            before = self.now()
            item = self.port.get_message()
            if item is None:
                self.stamps.found_empty(before)
                return count
            data, delta = item
            count += 1
            at = self.stamps.stamp(delta, self.now())
            try:
                message = mido.Message.from_bytes(data)
            except ValueError:
                continue  # garbled on the way: not a message anyone played
            if message.type != "active_sensing":  # read only so that the delta times add up
                self.deliver(at, message)
