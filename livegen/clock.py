"""Where the beat is: seconds to beats and back for the internal tempo.

The engine asks only ``beats_at``, ``time_of_beat``, ``seconds_per_beat`` and ``started``, so an
external MIDI clock can stand in for this one.
"""

from __future__ import annotations


class InternalClock:
    """A steady tempo whose beat 0 (the downbeat of bar 1) is set by ``start``."""

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
