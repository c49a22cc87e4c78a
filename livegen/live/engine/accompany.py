"""Accompany mode: the model plays along while the player plays.

Both streams go into the model's state in time order: a player's note once it is finished and
no earlier onset can come, a model note once it has been sent. The accompaniment is sampled a
beat ahead on a fork of that state; each note the player starts takes back what the scheduler
has not sent yet (``retract``) and samples it again on a fork that has heard the note, from a
floor the grammar mask keeps new onsets above. After the player rests ``rest_bars`` bars, the
model finishes its bar and rests too.

``AccompanyMixin`` is one part of :class:`livegen.engine.Companion`, which supplies the state,
the grid and the helpers used here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from livegen.music import codec
from livegen.live.scheduler import TimedNote

REPLAN_MARGIN_S = 0.004  # notes due sooner than this are on their way out and are kept
STREAM_TOKENS_PER_TICK = 24  # sample at most this much of the lookahead per tick (~2 ms) ...
STREAM_URGENT_S = 0.05  # ... once the plan reaches this far ahead, so new player notes are heard soon


@dataclass(frozen=True)
class Planned:
    """An accompaniment note handed to the sink and not yet fed into the model's own state."""

    onset: int  # absolute tick on the session's grid
    real: codec.Note  # as heard (not moved to the canonical key), absolute ticks
    timed: TimedNote


@dataclass
class Stream:
    """Accompaniment sampled a little ahead on a fork of the state; re-forked when the player moves."""

    tag: int
    state: object
    cursor: codec.Cursor
    floor: int  # absolute tick: nothing new starts before it
    shift: int
    end_tick: float = math.inf  # set when the player rests: the bar line where the model stops too
    planned: list[Planned] = field(default_factory=list)
    done_sampling: bool = False


class AccompanyMixin:
    """The companion's accompany mode (see the module's docstring)."""

    def _accompany(self, now: float) -> None:
        """Play along: both streams go into the state in time order; the unsent part follows the player."""
        if self.stream is None:
            if not self.call:
                return
            if not self.config.active:
                self._encode_ready(now)
                self.call = [n for n in self.call if n.end is None]
                return
            self._start_stream(now)
        self.call = [n for n in self.call if n.end is None]  # the stream, not the call, is what runs now
        self._commit(now)
        stream = self.stream
        if self._replan_due:
            self._replan(now)
        if stream.end_tick == math.inf and not self.held and not self.sustained and \
                now - self.last_sound >= self.config.rest_bars * self.config.beats_per_bar * self.clock.seconds_per_beat:
            horizon = self._tick_of(now) + self.config.lookahead_beats * codec.TICKS_PER_BEAT
            stream.end_tick = self.meter.bar_start(self.meter.locate(math.ceil(horizon))[0] + 1)
        self._sample_stream(now)
        if now >= self.clock.time_of_beat(stream.end_tick / codec.TICKS_PER_BEAT):
            self._end_stream(now, interrupted=False)

    def _start_stream(self, now: float) -> None:
        """The player's first note: the model comes in on the next beat."""
        self._retune()
        self.answers_started += 1
        start = self._start_tick(now)
        self.stream = Stream(self.answers_started, None, None, start, self._shift())
        self._fork(now, start)

    def _commit(self, now: float) -> None:
        """Feed the state what can no longer change: finished player notes and sent model notes."""
        ready, known_until = self._ready(now)
        planned = self.stream.planned
        sent = 0
        while sent < len(planned) and planned[sent].onset < known_until:
            sent += 1
        events = sorted([(self._onset_tick(n), n.pitch, n) for n in ready] +
                        [(p.onset, p.real.pitch, p) for p in planned[:sent]], key=lambda e: e[:2])
        del planned[:sent]
        for _, _, item in events:
            if not isinstance(item, Planned):
                self.waiting.remove(item)
                self._encode_player_note(item, now)
            else:
                self._remember(item.timed, item.timed.end)
                real = item.real
                self._feed_note(codec.Note(real.onset, codec.transpose_pitch(real.pitch, self._shift()),
                                           real.velocity, real.duration), now)

    def _replan(self, now: float) -> None:
        """Take back what is not yet sent and sample it again from what is known now."""
        started = self.perf_now()
        stream = self.stream
        not_before = now + REPLAN_MARGIN_S
        taken_back = self.sink.retract(stream.tag, not_before)
        stream.planned = [p for p in stream.planned if p.timed not in taken_back]
        floor = max(stream.floor, math.ceil(self._tick_of(not_before)),
                    max((p.onset + 1 for p in stream.planned), default=0))
        self._fork(now, floor)
        self._sample_stream(now)
        self.replans.append(self.perf_now() - started)

    def _fork(self, now: float, floor: int) -> None:
        """A fork of the state that has heard every known note, sampling from ``floor`` on."""
        stream = self.stream
        self._replan_due = False
        shift = self._shift()
        offset = self.meter.bar_start(self.base_bar)
        beat = self.clock.seconds_per_beat
        known = [codec.Note(p.real.onset, codec.transpose_pitch(p.real.pitch, shift), p.real.velocity,
                            p.real.duration) for p in stream.planned]
        for note in self.waiting:  # a held key counts as lasting at least a beat until it is released
            guess = note if note.end is not None else dataclasses.replace(note, end=max(now, note.start + beat))
            known.append(self._as_codec_note(guess, now, shift))
        writer = self.writer.copy()
        tokens = []
        for note in codec.merge_unisons(sorted(known, key=lambda n: (n.onset, n.pitch))):
            try:
                tokens.extend(writer.note(codec.Note(note.onset - offset, note.pitch, note.velocity, note.duration)))
            except ValueError:
                continue  # already in the state by another path (a unison or a re-prime): nothing to add
        state = self.state.copy()
        self.model.feed(tokens, state)
        stream.state, stream.cursor, stream.floor, stream.shift = state, writer.cursor, floor, shift
        stream.done_sampling = False

    def _sample_stream(self, now: float) -> None:
        """Sample the accompaniment until it reaches ``lookahead_beats`` past now (or where it rests)."""
        stream = self.stream
        offset = self.meter.bar_start(self.base_bar)
        horizon = max(self._tick_of(now) + self.config.lookahead_beats * codec.TICKS_PER_BEAT, stream.floor)
        urgent = self._tick_of(now + STREAM_URGENT_S)
        budget = STREAM_TOKENS_PER_TICK
        while not stream.done_sampling and offset + stream.cursor.onset <= horizon:
            if budget <= 0 and offset + stream.cursor.onset > urgent:
                break  # the rest of the lookahead on the next ticks
            budget -= 1
            note = self._sample_token(stream, offset, stream.floor - offset)
            if note is not None:
                timed = self._timed(note, offset, stream)
                real = codec.Note(offset + note.onset, timed.pitch, note.velocity, note.duration)
                stream.planned.append(Planned(offset + note.onset, real, timed))
                self.sink.play([timed], stream.tag)  # at once: a note due soon must not wait for the rest

    def _end_stream(self, now: float, interrupted: bool) -> None:
        """The player rested (or stopped the transport, or the mode changed): the accompaniment ends."""
        stream = self.stream
        if interrupted:
            self.sink.cancel(stream.tag)
            stream.planned = [p for p in stream.planned if p.timed.start < now]
        self._commit(now)
        for planned in stream.planned:  # a cancelled note that had begun: keep it in the history
            self._remember(planned.timed, min(planned.timed.end, now))
        self.stream = None
        self._replan_due = False
        self.call = [n for n in self.call if n.end is None]
