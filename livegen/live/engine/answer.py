"""Answer mode: when the phrase ends, a fork of the primed state answers on the next beat line."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, replace

from livegen.model.cadence import Cadence
from livegen.model.echo import EchoGuard
from livegen.music import codec
from livegen.music.key import Key
from livegen.live.engine.fork import Fork, Lookahead
from livegen.live.engine.performance import HeardNote
from livegen.live.engine.seed import SeedBuffer


@dataclass(frozen=True)
class AnswerPlan:
    """When a phrase ended and where its answer was placed, for reports."""

    phrase_end: float
    start: float
    start_tick: int
    bars: int
    key: Key | None


class Answering:
    """The answer under way (``fork``): its start on the grid, its length, and its end."""

    def __init__(self, priming, seed: SeedBuffer, lookahead: Lookahead, sink, max_answer_bars: int, closes: bool,
                 answered: deque, readiness: deque, perf_now=time.perf_counter) -> None:
        self.priming = priming
        self.seed = seed
        self.grid = priming.grid
        self.closes = closes  # answers close on the call's tonic
        self.lookahead = lookahead
        self.sink = sink
        self.max_answer_bars = max_answer_bars
        self.answered = answered
        self.readiness = readiness  # phrase end -> first answer note, s
        self.perf_now = perf_now
        self.fork: Fork | None = None
        self._phrase_end_wall = 0.0

    def start(self, tag: int, call: list[HeardNote], answer_bars: int | None, now: float, phrase_end_wall: float) -> None:
        """Answer ``call`` on the next beat (or bar) line, ``answer_bars`` long (None: as long as the call)."""
        self._phrase_end_wall = phrase_end_wall
        self.priming.retune()
        start_tick = self.grid.start_tick(now)
        state, cursor, context = self.priming.branch_at(start_tick)
        bars = answer_bars if answer_bars is not None else self._bars_of(call)
        end_tick = start_tick + bars * self.grid.bar_ticks
        self.answered.append(AnswerPlan(now, self.grid.time_of_tick(start_tick), start_tick, bars, self.priming.key))
        shift = self.priming.shift()
        self.fork = Fork(tag, state, cursor, start_tick, shift, end_tick, context=context,
                         echo=self._echo_guard(call, shift), cadence=self._cadence(start_tick, end_tick, shift))
        self.sample(now)

    def _cadence(self, start_tick: int, end_tick: int, shift: int) -> Cadence | None:
        """Where the answer closes, on the call's tonic (ticks of the fork's cursor); None if it does not."""
        if not self.closes:
            return None
        key = self.priming.key or self.seed.player_key()  # a preset that plays as written has none
        offset = self.priming.offset
        return Cadence.of(key, shift, start_tick - offset, end_tick - offset)

    def _echo_guard(self, call: list[HeardNote], shift: int) -> EchoGuard:
        """A guard against playing ``call`` back, its pitches as the model hears them, by onset and rising."""
        return EchoGuard(codec.transpose_pitch(pitch, shift) for _, pitch in self.grid.struck(call))

    def _bars_of(self, call: list[HeardNote]) -> int:
        """As many bars as the call spans, at most ``max_answer_bars``."""
        grid = self.grid
        first = grid.locate(grid.onset_tick(call[0]))[0]
        last = grid.locate(max(0, round(grid.tick_of(max(n.end for n in call))) - 1))[0]
        return max(1, min(self.max_answer_bars, last - first + 1))

    def sample(self, now: float) -> None:
        """Sample ahead; the time from the phrase end to the first note is reported."""
        fork = self.fork
        first = fork.first_note_wall is None
        self.lookahead.sample(fork, now)
        if first and fork.first_note_wall is not None:
            self.readiness.append(fork.first_note_wall - self._phrase_end_wall)

    def over(self, now: float) -> bool:
        return now >= self.grid.time_of_tick(self.fork.end_tick)

    def resize(self, bars: int, at: float) -> None:
        """The answer-length knob turned mid-answer: it ends after ``bars`` bars, or at the next bar
        line if that is already past; notes booked beyond the new end are taken back."""
        fork = self.fork
        next_bar_line = self.grid.bar_line_after(self.grid.tick_of(at))
        fork.end_tick = max(fork.floor + bars * self.grid.bar_ticks, min(fork.end_tick, next_bar_line))
        if fork.cadence is not None:
            fork.cadence = replace(fork.cadence, end=fork.end_tick - self.priming.offset)
        end = self.grid.time_of_tick(fork.end_tick)
        self.sink.retract(fork.tag, end)
        fork.planned = [p for p in fork.planned if p.timed.start < end]
        fork.done_sampling = self.priming.offset + fork.cursor.onset >= fork.end_tick

    def end(self, now: float, interrupted: bool) -> None:
        """The answer is over (or cut off): what sounded goes into the seed buffer, and the state is rebuilt."""
        fork = self.fork
        self.fork = None
        if interrupted:
            self.sink.cancel(fork.tag)
        self.seed.keep_answer(fork.planned, now)
        self.priming.reprime(now)
