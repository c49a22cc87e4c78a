"""Bar lengths over time on the tick grid: which bar a tick falls in and where each bar starts."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from .notes import TICKS_PER_BEAT

MAX_BAR_TICKS = 96


@dataclass(frozen=True)
class Meter:
    """Bar lengths over time as ``(start_tick, bar_ticks)`` changes; the first starts at 0.

    A change that falls inside a bar cuts that bar short: the new meter starts a new bar.
    """

    changes: tuple[tuple[int, int], ...] = ((0, 4 * TICKS_PER_BEAT),)
    _first_bars: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.changes or self.changes[0][0] != 0:
            raise ValueError(f"the first meter change must start at tick 0, got {self.changes!r}")
        starts = [start for start, _ in self.changes]
        if any(later <= earlier for earlier, later in zip(starts, starts[1:])):
            raise ValueError(f"meter changes must start at rising ticks, got {starts}")
        for _, bar_ticks in self.changes:
            if not 1 <= bar_ticks <= MAX_BAR_TICKS:
                raise ValueError(
                    f"a bar must last 1..{MAX_BAR_TICKS} ticks (at most 8 beats), got {bar_ticks}"
                )
        first_bars = [0]
        for (start, bar_ticks), (next_start, _) in zip(self.changes, self.changes[1:]):
            first_bars.append(first_bars[-1] + -(-(next_start - start) // bar_ticks))
        object.__setattr__(self, "_first_bars", tuple(first_bars))

    @classmethod
    def of_beats(cls, beats_per_bar: int) -> Meter:
        """A constant meter of ``beats_per_bar`` quarter notes."""
        return cls(((0, beats_per_bar * TICKS_PER_BEAT),))

    def bar_start(self, bar: int) -> int:
        """Tick where bar number ``bar`` (from 0) starts."""
        segment = bisect.bisect_right(self._first_bars, bar) - 1
        start, bar_ticks = self.changes[segment]
        return start + (bar - self._first_bars[segment]) * bar_ticks

    def bar_ticks(self, bar: int) -> int:
        """Length of bar number ``bar`` in ticks (shorter where a meter change cuts it)."""
        segment = bisect.bisect_right(self._first_bars, bar) - 1
        length = self.changes[segment][1]
        if segment + 1 < len(self.changes):
            length = min(length, self.changes[segment + 1][0] - self.bar_start(bar))
        return length

    def locate(self, tick: int) -> tuple[int, int]:
        """``(bar, position)`` of an absolute tick."""
        if tick < 0:
            raise ValueError(f"tick must be >= 0, got {tick}")
        segment = bisect.bisect_right([start for start, _ in self.changes], tick) - 1
        start, bar_ticks = self.changes[segment]
        bars_in, position = divmod(tick - start, bar_ticks)
        return self._first_bars[segment] + bars_in, position
