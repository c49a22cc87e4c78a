"""The token vocabulary: ids of bar, position, pitch, velocity and duration tokens, and their bins.

Pure: no I/O, no mutable globals. Token ids are laid out in this order: ``PAD``, ``BAR``, one
``POSITION`` per tick of the longest bar, one ``PITCH`` per piano key, one ``VELOCITY`` per
loudness bin, one ``DURATION`` per representable length, then (modal vocabulary only)
``BAR_MINOR``.
"""

from __future__ import annotations

import bisect

from .meter import MAX_BAR_TICKS
from .notes import PITCH_HIGH, PITCH_LOW, TICKS_PER_BEAT, Note

VELOCITY_BINS = 16
DURATIONS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 18, 21, 24, 30, 36, 42, 48, 60, 72, 96)

PAD = 0
BAR = 1
POSITION_BASE = 2
PITCH_BASE = POSITION_BASE + MAX_BAR_TICKS
VELOCITY_BASE = PITCH_BASE + (PITCH_HIGH - PITCH_LOW + 1)
DURATION_BASE = VELOCITY_BASE + VELOCITY_BINS
VOCAB_SIZE = DURATION_BASE + len(DURATIONS)
BAR_MINOR = VOCAB_SIZE  # the modal vocabulary's one extra token
MODAL_VOCAB_SIZE = VOCAB_SIZE + 1
BARS = (BAR, BAR_MINOR)

_DURATION_INDEX = {ticks: index for index, ticks in enumerate(DURATIONS)}


def vocabulary_spec(modal: bool = False) -> dict:
    """The vocabulary as plain data, stored in every preset so a mismatch is caught on load.

    ``modal``: the vocabulary with ``BAR_MINOR``, whose bars say whether the music is minor.
    """
    spec = {
        "name": "modal-bar-position-pitch-velocity-duration" if modal else "bar-position-pitch-velocity-duration",
        "ticks_per_beat": TICKS_PER_BEAT,
        "max_bar_ticks": MAX_BAR_TICKS,
        "pitch_range": [PITCH_LOW, PITCH_HIGH],
        "velocity_bins": VELOCITY_BINS,
        "durations": list(DURATIONS),
        "size": MODAL_VOCAB_SIZE if modal else VOCAB_SIZE,
    }
    if modal:
        spec["bar_modes"] = ["major", "minor"]
    return spec


def velocity_bin(velocity: int) -> int:
    """Loudness bin 0..15 of a MIDI velocity 1..127."""
    if not 1 <= velocity <= 127:
        raise ValueError(f"velocity must be in 1..127, got {velocity}")
    return (velocity - 1) * VELOCITY_BINS // 127


def bin_velocity(bin_index: int) -> int:
    """The velocity a loudness bin plays at: the middle of the bin."""
    low = -(-bin_index * 127 // VELOCITY_BINS) + 1
    high = ((bin_index + 1) * 127 - 1) // VELOCITY_BINS + 1
    return (low + high) // 2


def quantize_duration(ticks: int) -> int:
    """The nearest representable duration (longer notes are cut to the longest, 8 beats)."""
    if ticks < 1:
        raise ValueError(f"duration must be >= 1 tick, got {ticks}")
    index = bisect.bisect_left(DURATIONS, ticks)
    if index == len(DURATIONS):
        return DURATIONS[-1]
    if DURATIONS[index] == ticks or index == 0:
        return DURATIONS[index]
    below, above = DURATIONS[index - 1], DURATIONS[index]
    return below if ticks - below < above - ticks else above


def quantize(note: Note) -> Note:
    """The note as it comes back from ``decode(encode(...))``."""
    return Note(note.onset, note.pitch, bin_velocity(velocity_bin(note.velocity)),
                quantize_duration(note.duration))


def position_token(position: int) -> int:
    if not 0 <= position < MAX_BAR_TICKS:
        raise ValueError(f"position must be in 0..{MAX_BAR_TICKS - 1} ticks, got {position}")
    return POSITION_BASE + position


def pitch_token(pitch: int) -> int:
    if not PITCH_LOW <= pitch <= PITCH_HIGH:
        raise ValueError(f"pitch {pitch} is outside the piano range {PITCH_LOW}..{PITCH_HIGH}")
    return PITCH_BASE + pitch - PITCH_LOW


def velocity_token(velocity: int) -> int:
    return VELOCITY_BASE + velocity_bin(velocity)


def duration_token(duration: int) -> int:
    return DURATION_BASE + _DURATION_INDEX[quantize_duration(duration)]


def describe(token: int) -> str:
    """A token in words, for messages and debugging: ``POSITION(6)``, ``PITCH(60)``."""
    if token == PAD:
        return "PAD"
    if token == BAR:
        return "BAR"
    if token == BAR_MINOR:
        return "BAR(minor)"
    if POSITION_BASE <= token < PITCH_BASE:
        return f"POSITION({token - POSITION_BASE})"
    if PITCH_BASE <= token < VELOCITY_BASE:
        return f"PITCH({token - PITCH_BASE + PITCH_LOW})"
    if VELOCITY_BASE <= token < DURATION_BASE:
        return f"VELOCITY({token - VELOCITY_BASE})"
    if DURATION_BASE <= token < VOCAB_SIZE:
        return f"DURATION({DURATIONS[token - DURATION_BASE]})"
    raise ValueError(f"token {token} is outside the vocabulary 0..{MODAL_VOCAB_SIZE - 1}")
