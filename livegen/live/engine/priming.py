"""Streaming priming: the model state, fed each player and model note as it is complete, in the call's key.

The state is rebuilt from the seed buffer when the call's key estimate changes, after every
answer, and when a new call moves the downbeat; that also keeps the LSTM within the lengths it
was trained on.
"""

from __future__ import annotations

import math
import time

from livegen.music import codec, voices
from livegen.music.key import Key, bar_token, transposes
from livegen.live.engine.adaptation import Adaptation
from livegen.live.engine.performance import HeardNote
from livegen.live.engine.seed import SeedBuffer, Tuning

KEY_CHECK_BEATS = 0.5  # re-estimate the key at most this often while notes pour in (and at phrase end)
# A re-prime reads at most the seed buffer's last tokens (a dense bar, a few sparse ones), so it
# stays well under 10 ms however dense the bars, even on a busy machine. On held-out chorales
# the next bar's loss after these 64 tokens is that after all 8 bars (~530 tokens): -0.0030 +-
# 0.0013 nats/token (96: -0.0012, 32: +0.0033, 16: +0.065, no priming: +0.12); the model's
# memory is short (BENCHMARKS.md: the re-prime window).
REPRIME_TOKENS = 64
STEP_TIMES_KEPT = 1000


class Priming:
    """The model, its primed state and its writer; ``generation`` counts the re-primes, so a fork knows it is stale.

    What goes into the state also goes to ``adaptation``: the player's tokens are learned there.
    """

    def __init__(self, model, grid, seed: SeedBuffer, tuning: Tuning, seed_bars: int, key_mode: str,
                 adaptation: Adaptation, perf_now=time.perf_counter) -> None:
        self.model = model
        self.grid = grid
        self.seed = seed
        self.tuning = tuning
        self.adaptation = adaptation
        self.seed_bars = seed_bars
        self.key_mode = key_mode
        self.perf_now = perf_now
        self.key: Key | None = None
        self.generation = 0
        self.step_seconds: list[float] = []
        self._key_checked_at = -math.inf
        self.reset(base_bar=0)

    def reset(self, base_bar: int) -> None:
        """A fresh state whose bar 0 is the session's bar ``base_bar``."""
        self.state = self.model.initial_state()
        self.writer = codec.Writer(self.grid.meter, self._bar_token())
        self.base_bar = base_bar
        self.adaptation.reprimed([])

    def _bar_token(self) -> int:
        """What opens a bar for the model in use: a model of the modal vocabulary hears the call's mode.

        Read from the model, not the config: the preset knob may switch between presets told the
        mode and presets not.
        """
        return bar_token(self.model.vocab_size == codec.MODAL_VOCAB_SIZE, self.key)

    @property
    def offset(self) -> int:
        """The session's tick of the state's bar 0."""
        return self.grid.bar_start(self.base_bar)

    def shift(self) -> int:
        return self.key.to_canonical() if self.key is not None else 0

    def use_model(self, model, now: float) -> None:
        """Another preset's model from now on, primed with what was played."""
        self.model = model
        self.reprime(now)

    def retune(self) -> None:
        self.tuning.retune(self.key, self.shift())

    def encode_player_note(self, note: HeardNote, now: float) -> None:
        """A finished player note into the seed buffer and the state (or a re-prime, if the key changed)."""
        self.seed.add(note)
        due = now - self._key_checked_at >= KEY_CHECK_BEATS * self.grid.seconds_per_beat
        if due and self.check_key(now):
            return
        self.feed_note(self.grid.codec_note(note, now, self.shift()), now, by_player=True)

    def feed_heard(self, real: codec.Note, now: float) -> None:
        """A model note that was sent (in real pitch, session ticks) into the state."""
        self.feed_note(codec.Note(real.onset, codec.transpose_pitch(real.pitch, self.shift()),
                                  real.velocity, real.duration), now)

    def check_key(self, now: float) -> bool:
        """Re-estimate the call's key; on a change, re-prime in the new key. True if it changed."""
        self._key_checked_at = now
        key = self.seed.player_key() if transposes(self.key_mode) else None
        if key == self.key:
            return False
        self.key = key
        self.reprime(now)
        return True

    def feed_note(self, note: codec.Note, now: float, by_player: bool = False) -> None:
        """A note on the session's grid (in the model's key) into the state, or a re-prime if it cannot go on;
        a player's note is learned."""
        bar, _ = self.grid.locate(note.onset)
        cursor = self.writer.cursor
        if bar - self.base_bar - cursor.bar > 2:
            self.reprime(now)  # after a long silence, rebuild from the buffer rather than feed empty bars
            return
        model_note = codec.Note(note.onset - self.offset, note.pitch, note.velocity, note.duration)
        before = self._before(self.writer)
        try:
            tokens = self.writer.note(model_note)
        except ValueError:
            if model_note.onset == cursor.onset:
                return  # a lower or repeated pitch on an onset already fed (a flood): the next re-prime has it
            self.reprime(now)  # out of order after a re-anchor: rebuild rather than lose the note
            return
        self._step(tokens, self._voices(tokens, before))
        self.adaptation.heard(tokens, by_player)

    def _before(self, writer: codec.Writer) -> codec.Cursor | None:
        """Where ``writer`` stands before it writes, for a model that hears the voices of what it writes."""
        return writer.cursor.copy() if self.model.hears_voices else None

    def _voices(self, tokens, before: codec.Cursor | None):
        """The voices after each of ``tokens``, read from where the writer stood (None for a model that hears none)."""
        return None if before is None else voices.read(tokens, before)

    def _step(self, tokens, heard) -> None:
        started = self.perf_now()
        self.model.feed(tokens, self.state, heard)
        if tokens:
            self.step_seconds.append((self.perf_now() - started) / len(tokens))
            del self.step_seconds[:-STEP_TIMES_KEPT]

    def reprime(self, now: float) -> None:
        """Rebuild the model state from the notes of the last ``seed_bars`` bars (their last tokens)."""
        meter, tick_of = self.grid.meter, self.grid.tick_of
        current_bar = meter.locate(max(0, round(tick_of(now))))[0]
        window_start = meter.bar_start(max(0, current_bar - self.seed_bars + 1))
        self.seed.keep_from(window_start)
        shift = self.shift()
        notes = [self.grid.codec_note(n, now, shift) for n in self.seed.notes
                 if tick_of(n.start) >= window_start - 0.5]
        self.reset(min((meter.locate(n.onset)[0] for n in notes), default=current_bar))
        model_notes = codec.merge_unisons(codec.rebase(notes, self.offset))
        tokens = []
        for note in model_notes:
            tokens.extend(self.writer.note(note))
        tokens.extend(self.writer.close_bars(0))
        tail = codec.tail(tokens, REPRIME_TOKENS)
        # The state hears the tail as a stream of its own, and so do its voices.
        self._step(tail, self._voices(tail, codec.Cursor(meter, tail[0]) if self.model.hears_voices else None))
        self.adaptation.reprimed(tail)
        self.retune()  # the key may have changed: the range and the key lock move with it
        self.generation += 1  # a fork of the old state now refers to a state that is gone

    def restart(self) -> None:
        """The transport started again: bar 0 is a new piece, nothing before it counts (nor what was learned in it)."""
        self.seed.clear()
        self.adaptation.restart()
        self.reset(base_bar=0)

    def branch_at(self, start_tick: int):
        """A copy of the state, cursor and context that has come to ``start_tick`` (bars and position, no note)."""
        start_bar, start_position = self.grid.locate(start_tick)
        writer = self.writer.copy()
        before = self._before(writer)
        tokens = writer.close_bars(start_bar - self.base_bar) + [codec.position_token(start_position)]
        writer.cursor.advance(tokens[-1])
        state = self.state.copy()
        self.model.feed(tokens, state, self._voices(tokens, before))
        return state, writer.cursor, self.adaptation.branch(tokens)

    def branch_hearing(self, known: list[codec.Note]):
        """A copy of the state, cursor and context that has also heard ``known`` (session ticks, the model's key)."""
        offset = self.offset
        writer = self.writer.copy()
        before = self._before(writer)
        tokens = []
        for note in codec.merge_unisons(sorted(known, key=lambda n: (n.onset, n.pitch))):
            try:
                tokens.extend(writer.note(codec.Note(note.onset - offset, note.pitch, note.velocity, note.duration)))
            except ValueError:
                continue  # already in the state by another path (a unison or a re-prime): nothing to add
        state = self.state.copy()
        self.model.feed(tokens, state, self._voices(tokens, before))
        return state, writer.cursor, self.adaptation.branch(tokens)
