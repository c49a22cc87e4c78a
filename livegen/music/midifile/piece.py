"""What a parser makes of a file: a checked :class:`Piece` of grid notes, meter and tempo."""

from __future__ import annotations

from dataclasses import dataclass

from livegen.music.meter import Meter
from livegen.music.notes import PITCH_HIGH, PITCH_LOW, Note, merge_unisons

from .errors import MidiFileError
from .time_signature import WHOLE_NOTE_TICKS

MAX_BARS = 10_000


@dataclass(frozen=True)
class Piece:
    """The notes of one file on the 1/12-beat grid, with its meter and first tempo."""

    notes: tuple[Note, ...]
    meter: Meter
    tempo_bpm: float
    warnings: tuple[str, ...] = ()


def assemble_piece(notes, meter_changes, tempo_bpm: float, warnings) -> Piece:
    """A checked Piece from raw ``(onset, pitch, velocity, duration)`` grid notes of any parser.

    Drops pitches off the piano (counted in a warning), makes zero lengths one tick, clamps
    velocity, merges unisons, and refuses pieces with no notes or absurd length.
    """
    warnings = list(warnings)
    kept = [entry for entry in notes if PITCH_LOW <= entry[1] <= PITCH_HIGH]
    if len(kept) < len(notes):
        warnings.append(
            f"{len(notes) - len(kept)} notes outside the piano range "
            f"{PITCH_LOW}..{PITCH_HIGH} were dropped"
        )
    if not kept:
        raise MidiFileError("no notes in the piano range" if notes else "the file has no notes")
    meter = _meter(meter_changes)
    last_end = max(onset + max(duration, 1) for onset, _, _, duration in kept)
    bars = meter.locate(last_end - 1)[0] + 1
    if bars > MAX_BARS:
        raise MidiFileError(f"the music is {bars} bars long; the limit is {MAX_BARS:,} bars")
    merged = merge_unisons(
        Note(onset, pitch, min(max(velocity, 1), 127), max(duration, 1))
        for onset, pitch, velocity, duration in kept
    )
    return Piece(tuple(merged), meter, tempo_bpm, tuple(warnings))


def _meter(changes) -> Meter:
    """Meter from ``(tick, bar_ticks)`` changes in time order; 4/4 until the first.

    The last change on one tick wins; a repeat landing on a bar line changes nothing and is
    dropped, while one inside a bar restarts the bar, as the file says.
    """
    kept: list[tuple[int, int]] = [(0, WHOLE_NOTE_TICKS)]
    for tick, bar_ticks in changes:
        if kept[-1][0] == tick:
            kept.pop()
        if kept:
            start, current = kept[-1]
            if current == bar_ticks and (tick - start) % current == 0:
                continue
        kept.append((tick, bar_ticks))
    return Meter(tuple(kept))
