"""Accompany mode: the model plays along while the player plays.

Both streams go into the model's state in time order: a player's note once it is finished and
no earlier onset can come, a model note once it has been sent. The accompaniment is sampled a
beat ahead on a fork of that state; each note the player starts takes back what the scheduler
has not sent yet (``retract``) and samples it again on a fork that has heard the note, from a
floor the grammar mask keeps new onsets above. After the player rests ``rest_bars`` bars, the
model finishes its bar and rests too.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import deque

from livegen.music import codec
from livegen.live.engine.fork import Fork, Lookahead, Planned
from livegen.live.engine.performance import Performance
from livegen.live.engine.seed import SeedBuffer

REPLAN_MARGIN_S = 0.004  # notes due sooner than this are on their way out and are kept


class Accompanying:
    """The accompaniment under way (``fork``): committed as it sounds, sampled again as the player moves."""

    def __init__(self, performance: Performance, priming, seed: SeedBuffer, lookahead: Lookahead, sink,
                 rest_bars: int, replans: deque, perf_now=time.perf_counter) -> None:
        self.performance = performance
        self.priming = priming
        self.seed = seed
        self.grid = priming.grid
        self.lookahead = lookahead
        self.sink = sink
        self.rest_beats = rest_bars * self.grid.beats_per_bar
        self.replans = replans  # a player's note -> plan sampled again, s
        self.perf_now = perf_now
        self.fork: Fork | None = None

    def start(self, tag: int, now: float) -> None:
        """The player's first note: the model comes in on the next beat."""
        self.priming.retune()
        start = self.grid.start_tick(now)
        shift = self.priming.shift()
        state, cursor, context = self.priming.branch_hearing(self._known(now, shift, []))
        self.fork = Fork(tag, state, cursor, start, shift, follows_player=True,
                         generation=self.priming.generation, context=context)

    def player_moved(self) -> None:
        """A player's note: what is not yet sent is sampled again, and the rest is called off."""
        self.fork.moved = True
        self.fork.end_tick = math.inf

    def tick(self, now: float) -> None:
        """Play along: both streams go into the state in time order; the unsent part follows the player."""
        self.performance.keep_held_in_call()
        self._commit(now)
        fork = self.fork
        if fork.stale(self.priming.generation):
            self._replan(now)
        if fork.end_tick == math.inf and \
                self.performance.silent(now, self.rest_beats * self.grid.seconds_per_beat):
            fork.end_tick = self.grid.bar_line_after(self.grid.horizon(now))
        self.lookahead.sample(fork, now)
        if now >= self.grid.time_of_tick(fork.end_tick):
            self.end(now, interrupted=False)

    def _commit(self, now: float) -> None:
        """Feed the state what can no longer change: finished player notes and sent model notes."""
        ready, known_until = self.performance.ready(now)
        planned = self.fork.planned
        sent = 0
        while sent < len(planned) and planned[sent].onset < known_until:
            sent += 1
        events = sorted([(self.grid.onset_tick(n), n.pitch, n) for n in ready] +
                        [(p.onset, p.real.pitch, p) for p in planned[:sent]], key=lambda e: e[:2])
        del planned[:sent]
        for _, _, item in events:
            if not isinstance(item, Planned):
                self.performance.encoded(item)
                self.priming.encode_player_note(item, now)
            else:
                self.seed.remember(item.timed, item.timed.end)
                self.priming.feed_heard(item.real, now)

    def _replan(self, now: float) -> None:
        """Take back what is not yet sent and sample it again from what is known now."""
        started = self.perf_now()
        fork = self.fork
        not_before = now + REPLAN_MARGIN_S
        taken_back = self.sink.retract(fork.tag, not_before)
        fork.planned = [p for p in fork.planned if p.timed not in taken_back]
        floor = max(fork.floor, math.ceil(self.grid.tick_of(not_before)),
                    max((p.onset + 1 for p in fork.planned), default=0))
        shift = self.priming.shift()
        state, cursor, context = self.priming.branch_hearing(self._known(now, shift, fork.planned))
        fork.refork(state, cursor, context, floor, shift, self.priming.generation)
        self.lookahead.sample(fork, now)
        self.replans.append(self.perf_now() - started)

    def _known(self, now: float, shift: int, planned: list[Planned]) -> list[codec.Note]:
        """Every note not yet in the state: the plan, and the player's waiting notes."""
        beat = self.grid.seconds_per_beat
        known = [codec.Note(p.real.onset, codec.transpose_pitch(p.real.pitch, shift), p.real.velocity,
                            p.real.duration) for p in planned]
        for note in self.performance.waiting:  # a held key counts as lasting at least a beat until it is released
            guess = note if note.end is not None else dataclasses.replace(note, end=max(now, note.start + beat))
            known.append(self.grid.codec_note(guess, now, shift))
        return known

    def end(self, now: float, interrupted: bool) -> None:
        """The player rested (or stopped the transport, or the mode changed): the accompaniment ends."""
        fork = self.fork
        if interrupted:
            self.sink.cancel(fork.tag)
            fork.planned = [p for p in fork.planned if p.timed.start < now]
        self._commit(now)
        for planned in fork.planned:  # a cancelled note that had begun: keep it in the history
            self.seed.remember(planned.timed, min(planned.timed.end, now))
        self.fork = None
        self.performance.keep_held_in_call()
