"""Answers that close: the last bar of an answer is its cadence, one chord on the tonic held to the end.

A phrase in each bundled style comes home: a folk tune on a long tonic, a madrigal on a long chord
over its final, a chorale phrase on a held chord. An answer sampled bar by bar stopped wherever its
bars ran out, mid-gesture. So, in the bar where an answer ends (not its first: a one-bar answer is
left free), the model strikes once, on the earliest onset the grammar allows (the downbeat, unless
it still holds as many notes as the polyphony cap lets sound): the key's tonic in the bass, only
the tonic triad's pitch classes above it, every note held to the answer's end. Where the model
would go on to a later onset, the answer ends on its chord. The model still chooses the voicing,
how many notes (a tune's one, a madrigal's five) and how loud; the rule only says where and on
what harmony it lands. It is on unless the preset or the player turns it off (``--no-cadence``).

Measured (BENCHMARKS.md, 2026-12-01 late), the same weights with and without it: key on made-up
calls renaissance 0.718 -> 0.766 and folk 0.764 -> 0.796; the style test renaissance 0.667 ->
0.668, folk 0.629 -> 0.669, and chorale 0.678 -> 0.737, past its goal, so the chorale preset
plays without it (its answers name the key without it: 0.777).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from livegen.music import codec
from livegen.music.key import Key


@lru_cache(maxsize=48)
def _pitch_tokens(pitch_classes: frozenset[int], vocab: int) -> np.ndarray:
    """A mask over ``vocab`` tokens: True at the pitch tokens of ``pitch_classes``."""
    mask = np.zeros(vocab, dtype=bool)
    for pitch in range(codec.PITCH_LOW, codec.PITCH_HIGH + 1):
        if pitch % 12 in pitch_classes:
            mask[codec.pitch_token(pitch)] = True
    return mask


@dataclass(frozen=True)
class Cadence:
    """Where an answer closes and on what: ticks on the sampling cursor's own grid, the tonic in the
    model's key (its pitch class after the answer was moved to the key the model plays in)."""

    tonic: int  # pitch class
    minor: bool
    start: int  # the answer's first tick
    end: int  # the tick the answer ends at

    @classmethod
    def of(cls, key: Key, shift: int, start: int, end: int) -> Cadence:
        """The cadence of an answer in ``key`` that the model plays moved by ``shift`` semitones."""
        return cls((key.tonic + shift) % 12, key.mode == "minor", start, end)

    def _closing(self, cursor: codec.Cursor) -> bool:
        """Whether ``cursor`` stands in the answer's last bar, which is not its first."""
        return cursor.bar_start < self.end <= cursor.bar_start + cursor.bar_ticks and self.start < cursor.bar_start

    def allowed(self, cursor: codec.Cursor, allowed: np.ndarray) -> np.ndarray:
        """``allowed`` narrowed to the cadence where ``cursor`` stands in it (never to nothing).

        Its bar's first onset is the earliest the grammar allows (the downbeat, unless the model
        still holds as many notes as the polyphony cap lets sound); once it is struck, a later onset
        drawn ends the answer (:meth:`settle`), so every pitch drawn in the bar is the chord's.
        """
        if cursor.phase in (codec.START, codec.AFTER_PITCH) or not self._closing(cursor):
            return allowed
        narrowed = np.zeros_like(allowed)
        if cursor.phase == codec.AFTER_BAR:
            onsets = allowed[codec.POSITION_BASE:codec.PITCH_BASE].nonzero()[0]
            if onsets.size:
                narrowed[codec.POSITION_BASE + onsets[0]] = True
        elif cursor.phase == codec.AFTER_VELOCITY:  # the shortest length that lasts to the end, or the longest
            lengths = [d for d in codec.DURATIONS if allowed[codec.duration_token(d)]]
            if lengths:
                lasting = [d for d in lengths if d >= self.end - cursor.onset]
                narrowed[codec.duration_token(lasting[0] if lasting else lengths[-1])] = True
        else:  # a pitch: the bass on the tonic, the notes above it on the tonic triad
            above = cursor.phase == codec.AFTER_NOTE
            third = 3 if self.minor else 4
            classes = frozenset({self.tonic, (self.tonic + third) % 12, (self.tonic + 7) % 12} if above
                                else {self.tonic})
            narrowed = _pitch_tokens(classes, allowed.shape[0]).copy()
            if above:
                narrowed[codec.POSITION_BASE:codec.PITCH_BASE] = True  # kept: drawn, they end the answer
                narrowed[cursor.bar_token] = True
            narrowed &= allowed
        return narrowed if narrowed.any() else allowed

    def settle(self, cursor: codec.Cursor, token: int) -> int:
        """``token`` as the answer takes it: a later onset after the cadence's chord ends the answer."""
        if (cursor.phase == codec.AFTER_NOTE and codec.POSITION_BASE <= token < codec.PITCH_BASE
                and self._closing(cursor)):
            return cursor.bar_token
        return token
