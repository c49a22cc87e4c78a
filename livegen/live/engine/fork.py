"""A fork of the model state sampled a little ahead of the clock: an answer, or an accompaniment."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from livegen.music import codec
from livegen.live.scheduler import TimedNote
from livegen.model.session_model import Context, extended_by
from livegen.model.cadence import Cadence
from livegen.model.echo import EchoGuard

STREAM_TOKENS_PER_TICK = 24  # an accompaniment samples at most this much of the lookahead per tick (~2 ms) ...
STREAM_URGENT_S = 0.05  # ... once its plan reaches this far ahead, so new player notes are heard soon


@dataclass(frozen=True)
class Planned:
    """A note of a fork handed to the sink: as the grid has it, as it sounds, and as it was booked."""

    onset: int  # absolute tick on the session's grid
    real: codec.Note  # as heard (not moved to the canonical key), absolute ticks
    timed: TimedNote


@dataclass
class Fork:
    """A copy of the model state going on alone from ``floor`` to ``end_tick``, and the notes it has booked.

    An accompaniment (``follows_player``) is forked again as the player moves: the grammar mask
    keeps its new onsets from ``floor`` on, and it samples a share of the lookahead per tick.
    ``context`` is what the session model reads: the last tokens its state heard.
    """

    tag: int
    state: object
    cursor: codec.Cursor
    floor: int  # absolute tick: nothing new starts before it
    shift: int
    end_tick: float = math.inf  # an accompaniment's is set when the player rests: the bar line where it stops
    follows_player: bool = False
    generation: int = 0  # the priming's generation the state was forked from
    moved: bool = False  # the player has started a note since the fork
    planned: list[Planned] = field(default_factory=list)
    done_sampling: bool = False
    first_note_wall: float | None = None  # the wall time its first note went to the sink
    context: Context = ()
    echo: EchoGuard | None = None  # an answer's: it may not play its call back
    cadence: Cadence | None = None  # an answer's: where and on what it closes (ticks of its cursor)
    unheard: tuple[int, tuple[int, ...]] | None = None  # the last token drawn, and its voices, not yet fed to ``state``

    def stale(self, generation: int) -> bool:
        """Whether the state it was forked from has been rebuilt, or the player has moved since."""
        return self.moved or generation != self.generation

    def refork(self, state, cursor: codec.Cursor, context: Context, floor: int, shift: int, generation: int) -> None:
        self.state, self.cursor, self.context = state, cursor, context
        self.floor, self.shift, self.generation = floor, shift, generation
        self.unheard = None
        self.moved = False
        self.done_sampling = False


class Lookahead:
    """Samples a fork until it reaches ``lookahead_beats`` past now (or its end), booking each note on the grid."""

    def __init__(self, priming, tuning, adaptation, sink, grid, out_channel: int, dynamics, performance,
                 perf_now=time.perf_counter) -> None:
        self.priming = priming
        self.tuning = tuning  # draws each token from the sampler as tuned to the call's key
        self.adaptation = adaptation
        self.sink = sink
        self.grid = grid
        self.out_channel = out_channel
        self.dynamics = dynamics  # the player's level, the model's accents around it
        self.performance = performance
        self.perf_now = perf_now

    def sample(self, fork: Fork, now: float) -> None:
        """The first note goes to the sink at once, an accompaniment's every note: one due soon must not wait."""
        offset = self.priming.offset
        horizon = max(self.grid.horizon(now), fork.floor)
        if fork.follows_player:
            urgent = self.grid.tick_of(now + STREAM_URGENT_S)
            budget = STREAM_TOKENS_PER_TICK
        fresh = []
        while not fork.done_sampling and offset + fork.cursor.onset <= horizon:
            if fork.follows_player:
                if budget <= 0 and offset + fork.cursor.onset > urgent:
                    break  # the rest of the lookahead on the next ticks
                budget -= 1
            note = self._token(fork, offset)
            if note is not None:
                fresh.append(self._planned(note, offset, fork))
                if fork.follows_player or fork.first_note_wall is None:
                    self._hand_over(fresh, fork)
                    fresh = []
        self._hand_over(fresh, fork)

    def _token(self, fork: Fork, offset: int) -> codec.Note | None:
        """One token of the fork; the note it completes. One that would start past the fork's end is not taken.

        The state hears a token when the next one is drawn, not when it is drawn itself: a note is
        handed over as soon as its last token is, one model step sooner (answer readiness).
        """
        model = self.priming.model
        if fork.unheard is not None:
            model.step(fork.unheard[0], fork.state, fork.unheard[1])
            fork.unheard = None
        floor = fork.floor - offset if fork.follows_player else None
        blend = self.adaptation.blend(fork.context, fork.cursor.bar_token)
        barred = fork.echo.barred if fork.echo is not None else None
        token = self.tuning.choose(fork.state.logits, fork.cursor, floor, blend, barred, fork.cadence)
        if self._beyond_end(token, fork, offset):
            fork.done_sampling = True
            return None
        note = fork.cursor.advance(token)
        if note is not None and fork.echo is not None:
            fork.echo.hear(note.pitch)
        fork.unheard = (token, model.voices_after(fork.cursor))
        fork.context = extended_by(fork.context, token)
        return note

    def _beyond_end(self, token: int, fork: Fork, offset: int) -> bool:
        """Whether a sampled BAR or POSITION would start past the fork's last tick."""
        cursor = fork.cursor
        if token == cursor.bar_token:
            return offset + self.grid.bar_start(cursor.bar + 1) >= fork.end_tick
        if codec.POSITION_BASE <= token < codec.PITCH_BASE:
            return offset + cursor.bar_start + token - codec.POSITION_BASE >= fork.end_tick
        return False

    def _planned(self, note: codec.Note, offset: int, fork: Fork) -> Planned:
        onset = offset + note.onset
        end = min(onset + note.duration, fork.end_tick)
        pitch = codec.transpose_pitch(note.pitch, -fork.shift)
        velocity = self.dynamics.velocity(note.velocity, self.performance.level)
        timed = TimedNote(start=self.grid.time_of_tick(onset), end=self.grid.time_of_tick(end),
                          pitch=pitch, velocity=velocity, channel=self.out_channel)
        return Planned(onset, codec.Note(onset, pitch, velocity, note.duration), timed)

    def _hand_over(self, planned: list[Planned], fork: Fork) -> None:
        if planned:
            fork.planned.extend(planned)
            self.sink.play([p.timed for p in planned], fork.tag)
            if fork.first_note_wall is None:
                fork.first_note_wall = self.perf_now()
