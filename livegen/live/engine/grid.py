"""Where the beat is: the session's grid of 1/12-beat ticks on the clock, and the pulses that set it."""

from __future__ import annotations

import math

import mido

from livegen.live.clock import CLOCKS_PER_BEAT
from livegen.live.scheduler import TimedNote
from livegen.music import codec

METRONOME_TAG = -3
CLICK_PITCHES = (76, 77)  # General MIDI high and low wood block: downbeat, other beats
CLICK_SECONDS = 0.05
START_LEAD_SECONDS = 0.003  # an answer's first note needs a few ms to reach the scheduler


class Grid:
    """Ticks and seconds on the clock, in the meter of the session."""

    def __init__(self, clock, beats_per_bar: int, start_on: str, lookahead_beats: float) -> None:
        self.clock = clock
        self.meter = codec.Meter.of_beats(beats_per_bar)
        self.beats_per_bar = beats_per_bar
        self.bar_ticks = beats_per_bar * codec.TICKS_PER_BEAT
        self.start_unit = beats_per_bar if start_on == "bar" else 1
        self.lookahead_ticks = lookahead_beats * codec.TICKS_PER_BEAT

    @property
    def seconds_per_beat(self) -> float:
        return self.clock.seconds_per_beat

    def bar_start(self, bar: int) -> int:
        """The tick bar ``bar`` starts on."""
        return self.meter.bar_start(bar)

    def locate(self, tick: int) -> tuple[int, int]:
        """``(bar, position)`` of ``tick``."""
        return self.meter.locate(tick)

    def tick_of(self, time_s: float) -> float:
        return self.clock.beats_at(time_s) * codec.TICKS_PER_BEAT

    def time_of_tick(self, tick: float) -> float:
        return self.clock.time_of_beat(tick / codec.TICKS_PER_BEAT)

    def struck(self, notes) -> list[tuple[float, int]]:
        """``(onset start, pitch)`` of heard notes, by onset and rising within one, as the codec orders them.

        Notes struck within a grid tick of an onset's first are that onset: no tick conversion per
        note at the phrase end (for a 32-bar call, 107 us with one; this way 40).
        """
        together = self.clock.seconds_per_beat / codec.TICKS_PER_BEAT
        struck, onset = [], -math.inf
        for note in sorted(notes, key=lambda note: note.start):
            if note.start - onset >= together:
                onset = note.start
            struck.append((onset, note.pitch))
        struck.sort()
        return struck

    def onset_tick(self, note) -> int:
        return max(0, round(self.tick_of(note.start)))

    def horizon(self, now: float) -> float:
        """How far ahead a fork is sampled: ``lookahead_beats`` past now."""
        return self.tick_of(now) + self.lookahead_ticks

    def bar_line_after(self, tick: float) -> int:
        """The start of the bar after the one ``tick`` (rounded up) is in."""
        return self.meter.bar_start(self.meter.locate(math.ceil(tick))[0] + 1)

    def start_tick(self, now: float) -> int:
        """The next beat (or bar) line a fork can still start on."""
        beats = self.clock.beats_at(now + START_LEAD_SECONDS)
        return math.ceil(beats / self.start_unit) * self.start_unit * codec.TICKS_PER_BEAT

    def codec_note(self, note, now: float, shift: int) -> codec.Note:
        """A heard note on the grid, moved by ``shift``; one still held lasts until now."""
        onset = self.onset_tick(note)
        end = note.end if note.end is not None else now
        length = max(1, round(self.tick_of(end)) - onset)
        return codec.Note(onset, codec.transpose_pitch(note.pitch, shift), note.velocity,
                          min(length, codec.DURATIONS[-1]))

    def anchor(self, at: float) -> None:
        """The first note of a call is a downbeat: that of the bar after the one now under way.

        The player is not following our clock, so each call sets the grid anew; bar numbers go
        on counting, so the seed buffer keeps its notes (each moved by less than a bar).
        """
        bar = self.meter.locate(max(0, math.floor(self.tick_of(at))))[0] + 1 if self.clock.started else 0
        self.clock.start(at - bar * self.beats_per_bar * self.clock.seconds_per_beat)


class Pulses:
    """The clock pulses (as clock master) and metronome clicks, booked a little ahead on absolute beat times."""

    def __init__(self, grid: Grid, sink, send_clock: bool, metronome_channel: int | None,
                 click_bars: int | None, lookahead_beats: float) -> None:
        self.grid = grid
        self.sink = sink
        self.send_clock = send_clock
        self.metronome_channel = metronome_channel
        self.click_pulses = None if click_bars is None else click_bars * grid.beats_per_bar * CLOCKS_PER_BEAT
        self.lookahead_beats = lookahead_beats
        self.next_pulse = 0

    @property
    def set_the_grid(self) -> bool:
        """Whether our click or our clock sets the grid (then the player follows it)."""
        return self.metronome_channel is not None or self.send_clock

    def book(self, now: float) -> bool:
        """Book what falls within the lookahead; True if this started the clock."""
        clock = self.grid.clock
        started = not clock.started
        if started:
            clock.start(now + 0.1)
            self.next_pulse = 0
            if self.send_clock:
                self.sink.send_at([(clock.time_of_beat(0) - 0.001, mido.Message("start"))], METRONOME_TAG)
        horizon_pulse = int(clock.beats_at(now + self.lookahead_beats * clock.seconds_per_beat) * CLOCKS_PER_BEAT)
        pulses, clicks = [], []
        for pulse in range(self.next_pulse, horizon_pulse + 1):
            at = clock.time_of_beat(pulse / CLOCKS_PER_BEAT)
            if self.send_clock:
                pulses.append((at, mido.Message("clock")))
            if self._clicks(pulse):
                clicks.append(self._click(pulse, at))
        self.next_pulse = max(self.next_pulse, horizon_pulse + 1)
        if pulses:
            self.sink.send_at(pulses, METRONOME_TAG)
        if clicks:
            self.sink.play(clicks, METRONOME_TAG)
        return started

    def _clicks(self, pulse: int) -> bool:
        return self.metronome_channel is not None and pulse % CLOCKS_PER_BEAT == 0 and \
            (self.click_pulses is None or pulse < self.click_pulses)

    def _click(self, pulse: int, at: float) -> TimedNote:
        downbeat = pulse // CLOCKS_PER_BEAT % self.grid.beats_per_bar == 0
        return TimedNote(at, at + CLICK_SECONDS, CLICK_PITCHES[0 if downbeat else 1],
                         100 if downbeat else 70, self.metronome_channel)
