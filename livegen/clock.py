"""Where the beat is: seconds to beats and back for the internal tempo.

The engine asks only ``beats_at``, ``time_of_beat``, ``seconds_per_beat`` and ``started``, so an
external MIDI clock can stand in for this one.
"""

from __future__ import annotations


class InternalClock:
    """A steady tempo whose beat 0 (the downbeat of bar 1) is set by ``start``."""

    external = False

    def __init__(self, bpm: float) -> None:
        if not 20 <= bpm <= 400:
            raise ValueError(f"tempo must be between 20 and 400 bpm, got {bpm}")
        self.seconds_per_beat = 60.0 / bpm
        self.origin: float | None = None

    @property
    def bpm(self) -> float:
        return 60.0 / self.seconds_per_beat

    @property
    def started(self) -> bool:
        return self.origin is not None

    def start(self, at: float) -> None:
        """Put the downbeat of bar 1 at time ``at`` (seconds on the engine's clock)."""
        self.origin = at

    def beats_at(self, time: float) -> float:
        """Beats since the downbeat at ``time``."""
        return (time - self.origin) / self.seconds_per_beat

    def time_of_beat(self, beat: float) -> float:
        """Absolute time of a beat: origin plus beats times seconds per beat, never a sum of sleeps."""
        return self.origin + beat * self.seconds_per_beat


CLOCKS_PER_BEAT = 24  # MIDI beat clock: 24 pulses per quarter note
CLOCKS_PER_SIXTEENTH = 6  # song position pointers count sixteenths
FIT_CLOCKS = 24  # tempo and phase are fitted over the last beat of pulses


class ExternalClock:
    """Follows a MIDI clock (0xF8 at 24 PPQN, start/continue/stop, song position).

    Tempo and phase come from a straight line fitted through the last beat of pulses, so the
    quantisation of each pulse's arrival (a JACK period, a USB frame) averages out and a tempo
    change is followed within a beat. Beat 0 is where start (or song position 0) puts it.
    """

    external = True

    def __init__(self, fallback_bpm: float = 120.0) -> None:
        self.seconds_per_beat = 60.0 / fallback_bpm
        self.running = False
        self._next_index = 0  # the clock index (in pulses from beat 0) the next pulse will have
        self._pulses: list[tuple[int, float]] = []
        self._intercept = 0.0

    @property
    def bpm(self) -> float:
        return 60.0 / self.seconds_per_beat

    @property
    def started(self) -> bool:
        return self.running and len(self._pulses) >= 2

    def start(self, at: float) -> None:
        """Calls do not move an external clock's grid."""

    def hear(self, message, at: float) -> str | None:
        """Take a clock or transport message; returns 'start', 'stop' or 'continue' when one comes."""
        kind = message.type
        if kind == "clock":
            if self.running:
                self._pulse(at)
            return None
        if kind == "start":
            self._next_index = 0
        elif kind == "songpos":
            self._next_index = message.pos * CLOCKS_PER_SIXTEENTH
            self._pulses.clear()
            return None
        elif kind not in ("continue", "stop"):
            return None
        self.running = kind != "stop"
        if kind != "stop":
            self._pulses.clear()
        return kind

    def _pulse(self, at: float) -> None:
        self._pulses.append((self._next_index, at))
        self._next_index += 1
        del self._pulses[:-FIT_CLOCKS]
        if len(self._pulses) >= 2:
            indices = [index for index, _ in self._pulses]
            times = [time for _, time in self._pulses]
            count = len(indices)
            mean_index = sum(indices) / count
            mean_time = sum(times) / count
            spread = sum((index - mean_index) ** 2 for index in indices)
            slope = sum((index - mean_index) * (time - mean_time) for index, time in zip(indices, times)) / spread
            self.seconds_per_beat = slope * CLOCKS_PER_BEAT
            self._intercept = mean_time - slope * mean_index

    def beats_at(self, time: float) -> float:
        return (time - self._intercept) / self.seconds_per_beat

    def time_of_beat(self, beat: float) -> float:
        return self._intercept + beat * self.seconds_per_beat
