"""Notes on the tick grid (1/12 beat) and the arithmetic on them: merge, transpose, rebase."""

from __future__ import annotations

from dataclasses import dataclass

TICKS_PER_BEAT = 12
PITCH_LOW = 21  # the piano's lowest key, A0
PITCH_HIGH = 108  # the piano's highest key, C8


@dataclass(frozen=True, order=True)
class Note:
    """A note on the tick grid: onset and duration in ticks of 1/12 beat from the piece start."""

    onset: int
    pitch: int
    velocity: int
    duration: int

    def __post_init__(self) -> None:
        if self.onset < 0:
            raise ValueError(f"note onset must be >= 0 ticks, got {self.onset}")
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"pitch must be in 0..127, got {self.pitch}")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"velocity must be in 1..127, got {self.velocity}")
        if self.duration < 1:
            raise ValueError(f"duration must be >= 1 tick, got {self.duration}")

    @property
    def end(self) -> int:
        return self.onset + self.duration


def merge_unisons(notes) -> list[Note]:
    """Notes sorted by onset and pitch, keeping only the longest of several on one onset and pitch."""
    kept: dict[tuple[int, int], Note] = {}
    for note in notes:
        key = (note.onset, note.pitch)
        if key not in kept or note.duration > kept[key].duration:
            kept[key] = note
    return [kept[key] for key in sorted(kept)]


def transpose_pitch(pitch: int, semitones: int) -> int:
    """A pitch moved by ``semitones``, then by octaves back onto the piano if pushed off it."""
    pitch += semitones
    while pitch < PITCH_LOW:
        pitch += 12
    while pitch > PITCH_HIGH:
        pitch -= 12
    return pitch


def transpose(notes, semitones: int) -> list[Note]:
    """Notes moved by ``semitones``, kept on the piano (see ``transpose_pitch``)."""
    return [Note(n.onset, transpose_pitch(n.pitch, semitones), n.velocity, n.duration) for n in notes]


def rebase(notes, offset: int) -> list[Note]:
    """Notes moved ``offset`` ticks earlier: counted from a later bar line (a negative offset: later)."""
    return [Note(n.onset - offset, n.pitch, n.velocity, n.duration) for n in notes]
