"""Time signatures to bar lengths on the codec's tick grid and back."""

from __future__ import annotations

from livegen.music.meter import MAX_BAR_TICKS
from livegen.music.notes import TICKS_PER_BEAT

from .errors import MidiFileError

WHOLE_NOTE_TICKS = 4 * TICKS_PER_BEAT


def time_signature_ticks(numerator: int, denominator: int) -> int:
    """Bar length in grid ticks of a time signature; raises MidiFileError if it has none."""
    name = f"time signature {numerator}/{denominator}"
    if numerator < 1 or denominator < 1:
        raise MidiFileError(f"{name} has no beats")
    if numerator * WHOLE_NOTE_TICKS % denominator:
        raise MidiFileError(
            f"{name} does not fit the grid of {TICKS_PER_BEAT} ticks per quarter note"
        )
    bar_ticks = numerator * WHOLE_NOTE_TICKS // denominator
    if bar_ticks > MAX_BAR_TICKS:
        raise MidiFileError(f"{name} is longer than {MAX_BAR_TICKS // TICKS_PER_BEAT} beats")
    return bar_ticks


def time_signature_of(bar_ticks: int) -> tuple[int, int]:
    """The simplest exact ``(numerator, denominator)`` for a bar of ``bar_ticks`` grid ticks."""
    if not 1 <= bar_ticks <= MAX_BAR_TICKS:
        raise ValueError(f"a bar must last 1..{MAX_BAR_TICKS} ticks, got {bar_ticks}")
    for denominator in (4, 8, 16):
        unit = WHOLE_NOTE_TICKS // denominator
        if bar_ticks % unit == 0:
            return bar_ticks // unit, denominator
    raise ValueError(
        f"a bar of {bar_ticks} ticks has no time signature: it must be a whole number of 16ths"
        f" ({WHOLE_NOTE_TICKS // 16} ticks each)"
    )
