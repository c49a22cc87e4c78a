"""How a preset hears notes: in which key, moved how far, one note per onset and pitch, which bar token.

Training, offline continuation and evaluation all hear music through this rule, so a preset
meets a call at play time exactly as it met its training pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livegen.music import codec, voices
from livegen.music.key import Key, bar_token, call_key, tells_mode, transposes


@dataclass(frozen=True)
class Hearing:
    """How a preset of one key mode hears music in one key: the key, the move, what opens a bar."""

    key: Key | None  # None: the preset takes keys as written
    shift: int  # semitones to the preset's own key
    bar_token: int

    def notes(self, notes, semitones: int = 0) -> list[codec.Note]:
        """Notes as the model hears them: moved to its key (then ``semitones`` further, to augment
        training data), keeping the longest of several on one onset and pitch."""
        moved = codec.transpose(notes, self.shift)
        return codec.merge_unisons(codec.transpose(moved, semitones) if semitones else moved)

    def encode(self, notes, meter: codec.Meter, semitones: int = 0) -> list[int]:
        """The tokens of notes as the model hears them; raises ``ValueError`` as ``codec.encode`` does."""
        return codec.encode(self.notes(notes, semitones), meter, bar_token=self.bar_token)


def hearing(key_mode: str, notes, key: Key | None = None) -> Hearing:
    """How a preset of this key mode hears ``notes`` (``key``: their estimated key, when at hand)."""
    if not transposes(key_mode):
        return Hearing(None, 0, bar_token(tells_mode(key_mode), None))
    key = key or call_key(notes)
    return Hearing(key, key.to_canonical(), bar_token(tells_mode(key_mode), key))


@dataclass(frozen=True)
class Heard:
    """A prime as a preset hears it: how, its notes and tokens, and a cursor that stands after them."""

    hearing: Hearing
    notes: list[codec.Note]
    tokens: list[int]
    cursor: codec.Cursor  # the caller walks it on through what the model answers
    voices: np.ndarray  # the voices after each token (:func:`livegen.music.voices.read`)


def hear(key_mode: str, notes, meter: codec.Meter) -> Heard:
    """``notes`` as a preset of this key mode hears them, with a cursor past their tokens that opens
    bars as the model must hear them."""
    how = hearing(key_mode, notes)
    heard = how.notes(notes)
    tokens = codec.encode(heard, meter, bar_token=how.bar_token)
    cursor = codec.Cursor(meter, how.bar_token)
    return Heard(how, heard, tokens, cursor, voices.read(tokens, cursor))
