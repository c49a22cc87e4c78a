"""Where the beat is: seconds to beats and back for the internal tempo.

The engine asks only ``beats_at``, ``time_of_beat``, ``seconds_per_beat`` and ``started``, so an
external MIDI clock can stand in for this one.
"""

from __future__ import annotations

from livegen.errors import SettingError

TEMPO_RANGE = (20, 400)  # bpm a clock keeps: every tempo livegen takes is checked against this


def check_tempo(bpm: float) -> float:
    """``bpm`` itself if it lies in ``TEMPO_RANGE``; otherwise a SettingError that names it."""
    lowest, highest = TEMPO_RANGE
    if not lowest <= bpm <= highest:
        raise SettingError(f"tempo must be between {lowest} and {highest} bpm, got {bpm:g}")
    return bpm


class InternalClock:
    """A steady tempo whose beat 0 (the downbeat of bar 1) is set by ``start``."""

    external = False

    def __init__(self, bpm: float) -> None:
        self.seconds_per_beat = 60.0 / check_tempo(bpm)
        self.origin: float | None = None

    @property
    def bpm(self) -> float:
        return 60.0 / self.seconds_per_beat

    def set_tempo(self, bpm: float) -> None:
        """A new tempo from now on (``--bpm auto``: the first phrase's)."""
        self.seconds_per_beat = 60.0 / check_tempo(bpm)

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


LINK_START = "link_start"  # an Ableton Link session started or stopped playing (livegen.live.link)
LINK_STOP = "link_stop"
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


SLOWEST_AUTO_BPM = 60.0


def estimate_tempo(onsets, low_bpm: float = SLOWEST_AUTO_BPM, high_bpm: float = 180.0, preferred_bpm: float = 110.0) -> float | None:
    """The tempo a phrase was played at, from its note onsets (seconds); None if too few notes.

    Every candidate tempo puts a grid of eighth notes on the first onset; the tempo whose grid
    the onsets fit best wins, weighted towards ``preferred_bpm`` (people hear pulses near 100-120
    bpm most readily, which also settles the choice between a tempo and its double or half) and
    towards grids with the onsets on their beats. A slow phrase of quarters and eighths can be
    heard at double tempo; the answer then still falls on the player's beats and half-beats.
    """
    import numpy as np

    times = sorted(onsets)
    merged = [times[0]] if times else []
    for time in times[1:]:
        if time - merged[-1] > 0.04:  # the notes of one chord arrive a few ms apart
            merged.append(time)
    if len(merged) < 4:
        return None
    relative = np.array(merged) - merged[0]
    candidates = np.arange(low_bpm, high_bpm + 0.25, 0.25)
    eighths = relative[None, :] * candidates[:, None] / 30.0
    misfit = np.mean((eighths - np.round(eighths)) ** 2, axis=1)  # 0 (on the grid) .. 1/12 (random)
    fit = 1.0 - 12.0 * misfit
    preference = np.exp(-0.5 * (np.log2(candidates / preferred_bpm) / 0.6) ** 2)
    # Notes fall on beats more often than between them: of two grids that fit, prefer the one
    # that puts more onsets on its beats (even eighths), e.g. even quarters as beats, not as
    # dotted quarters of a faster pulse.
    on_beat = np.mean(np.round(eighths) % 2 == 0, axis=1)
    best = int(np.argmax(fit ** 8 * preference * on_beat ** 2))
    # Refine: a line through (eighth-note index, onset) gives the tempo between the candidates.
    indices = np.round(eighths[best])
    if indices[-1] == 0:
        return float(candidates[best])
    slope = np.polyfit(indices, relative, 1)[0]
    return float(np.clip(30.0 / slope, low_bpm, high_bpm))
