"""What the model hears besides the token: the voices that still sound, and what the last onset struck.

The onset encoding lists an onset's notes and says nothing of the notes that hold through it,
so a model that reads tokens alone does not follow voices from onset to onset: its top line
leaps where the style steps. A model that also hears, at every token, which pitches sound at
the current onset and which the previous onset struck, knows where each voice is (BENCHMARKS.md,
2026-12-01: on held-out chorales the style test's accuracy fell from 0.99 to 0.84 at the same
budget, held-out loss from 0.99 to 0.86 nats a token).

After each token the voices are a few row numbers: ``pitch - PITCH_LOW`` for a pitch sounding at
the current onset (those struck on it included), ``PITCHES + pitch - PITCH_LOW`` for a pitch the
previous onset struck. Training adds the rows of a learned table to the token's embedding; the
live step adds them to its gates. At most ``MAX_SOUNDING`` and ``MAX_STRUCK`` of each, the
highest kept: a bound on the step's cost, and the same rule in training and at play time.
"""

from __future__ import annotations

import numpy as np

from .cursor import Cursor
from .notes import PITCH_HIGH, PITCH_LOW

SCHEME = "sounding+previous"  # what a preset's ``model.voices`` names
PITCHES = PITCH_HIGH - PITCH_LOW + 1
ROWS = 2 * PITCHES  # rows of the voices table
MAX_SOUNDING = 12
MAX_STRUCK = 12
WIDTH = MAX_SOUNDING + MAX_STRUCK  # voices of one token, padded with ``PAD``
PAD = ROWS  # the padding row: it adds nothing


def voices(cursor: Cursor) -> tuple[int, ...]:
    """The rows the model hears after the token ``cursor`` has just read."""
    onset = cursor.onset
    sounding = sorted({pitch for end, pitch in cursor.sounding if end > onset}, reverse=True)[:MAX_SOUNDING]
    struck = cursor.previous_struck[-MAX_STRUCK:]
    return tuple(pitch - PITCH_LOW for pitch in sounding) + tuple(PITCHES + pitch - PITCH_LOW for pitch in struck)


def row(cursor: Cursor) -> np.ndarray:
    """:func:`voices` as one padded row of ``WIDTH``."""
    padded = np.full(WIDTH, PAD, dtype=np.uint8)
    heard = voices(cursor)
    padded[:len(heard)] = heard
    return padded


def read(tokens, cursor: Cursor) -> np.ndarray:
    """Walk ``cursor`` through ``tokens``: the voices after each, ``(len(tokens), WIDTH)`` padded with ``PAD``."""
    rows = np.empty((len(tokens), WIDTH), dtype=np.uint8)
    for index, token in enumerate(tokens):
        cursor.advance(int(token))
        rows[index] = row(cursor)
    return rows
