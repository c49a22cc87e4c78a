"""Key finding (Krumhansl–Schmuckler) and the canonical key (C major / A minor) presets train in.

The estimate correlates a duration-weighted pitch-class histogram with Temperley's Kostka–Payne
profiles; how well notes fit a key (the evaluation's key correlation) is measured against
Krumhansl and Kessler's probe-tone profiles, as every earlier number was. On 2-bar calls the
Kostka–Payne profiles named the key more often: 40 of 48 made-up calls against 37, and the
opening call of 63 held-out pieces agreed with the whole piece's key 57% of the time against 51%
(BENCHMARKS.md, 2026-12-01).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livegen.music import codec

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Temperley (2001), from the Kostka–Payne harmony textbook's excerpts, tonic first: what the estimate uses.
ESTIMATE_MAJOR_PROFILE = np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0])
ESTIMATE_MINOR_PROFILE = np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0])
# How far below the best key's correlation a key on a lone melody's last note may be and still be
# chosen. Made-up melodies (which end on their tonic): 14 -> 20 of 24 named; 2-bar cuts of folk
# tunes, which end anywhere: 80% -> 76% agree with the whole tune's key (BENCHMARKS.md, 2026-12-01 evening).
ENDING_MARGIN = 0.1
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor plus the leading tone
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODES = ("major", "minor")
CANONICAL_TONIC = {"major": 0, "minor": 9}
# How a preset meets keys: "canonical" moves every training piece, and every call at play time,
# to C major / A minor (the answer is moved back); "canonical+mode" does the same and also tells
# the model the mode: each bar opens with a minor BAR in a minor piece or call, so C major and
# A minor, which share their notes once moved, stay apart; "as-is" moves nothing.
KEY_MODES = ("canonical", "canonical+mode", "as-is")


def _profiles(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """The 24 key profiles as rows: 12 major keys from C, then 12 minor keys from C."""
    rows = [np.roll(major, tonic) for tonic in range(12)]
    rows += [np.roll(minor, tonic) for tonic in range(12)]
    return np.array(rows)


_PROFILES = _profiles(MAJOR_PROFILE, MINOR_PROFILE)
_ESTIMATE_PROFILES = _profiles(ESTIMATE_MAJOR_PROFILE, ESTIMATE_MINOR_PROFILE)


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class 0..11 (C=0) and mode."""

    tonic: int
    mode: str

    def __post_init__(self) -> None:
        if not 0 <= self.tonic < 12:
            raise ValueError(f"tonic must be a pitch class 0..11, got {self.tonic}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be 'major' or 'minor', got {self.mode!r}")

    def __str__(self) -> str:
        return f"{PITCH_NAMES[self.tonic]} {self.mode}"

    def scale(self) -> frozenset[int]:
        """Pitch classes of the key's scale (minor: natural minor plus leading tone)."""
        steps = MAJOR_SCALE if self.mode == "major" else MINOR_SCALE
        return frozenset((self.tonic + step) % 12 for step in steps)

    def profile(self) -> np.ndarray:
        """The Krumhansl–Kessler profile of this key, indexed by pitch class."""
        return _PROFILES[self.tonic + (0 if self.mode == "major" else 12)]

    def to_canonical(self) -> int:
        """Semitones (-5..+6, the smaller move) that take this key to C major or A minor."""
        return (CANONICAL_TONIC[self.mode] - self.tonic + 5) % 12 - 5


def transposes(key_mode: str) -> bool:
    """Whether a preset of this key mode hears every call moved to its own key."""
    return key_mode != "as-is"


def tells_mode(key_mode: str) -> bool:
    """Whether a preset of this key mode opens its bars with the mode's own ``BAR`` token."""
    return key_mode == "canonical+mode"


def bar_token(modal: bool, key: Key | None) -> int:
    """The token that opens each bar in ``key`` (None: not known yet) for a model of the modal
    vocabulary (``modal``) or of the plain one."""
    minor = modal and key is not None and key.mode == "minor"
    return codec.BAR_MINOR if minor else codec.BAR


def pitch_class_histogram(notes) -> np.ndarray:
    """Duration-weighted pitch-class histogram of notes."""
    histogram = np.zeros(12)
    for note in notes:
        histogram[note.pitch % 12] += note.duration
    return histogram


def correlations(histogram: np.ndarray) -> np.ndarray:
    """Pearson correlation of a pitch-class histogram with each of the 24 estimate profiles."""
    centred = histogram - histogram.mean()
    profiles = _ESTIMATE_PROFILES - _ESTIMATE_PROFILES.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(profiles, axis=1) * np.linalg.norm(centred)
    if norms[0] == 0:
        return np.zeros(24)
    return profiles @ centred / norms


def estimate_key(notes, ending: int | None = None) -> Key:
    """The best-correlating key of some notes; C major when they say nothing (no notes).

    ``ending``: the last pitch of a lone melody (:func:`lone_ending`). A melody alone, with no
    harmony or bass to say which, often fits several keys almost equally; of the keys within
    ``ENDING_MARGIN`` of the best, the best of those whose tonic it ends on is chosen.
    """
    scores = correlations(pitch_class_histogram(notes))
    best = int(np.argmax(scores))
    if ending is not None:
        homes = [index for index in (ending % 12, ending % 12 + 12) if scores[index] >= scores[best] - ENDING_MARGIN]
        if homes:
            best = max(homes, key=lambda index: scores[index])
    return Key(best % 12, "major" if best < 12 else "minor")


def call_key(notes) -> Key:
    """The key a call is heard in: the estimate, with a lone melody's ending (:func:`lone_ending`) counted."""
    return estimate_key(notes, lone_ending(notes))


def lone_ending(notes) -> int | None:
    """The last pitch of ``notes`` if they are one line (one note an onset), else None (or none at all)."""
    onsets = {note.onset for note in notes}
    if not onsets or len(onsets) < len(notes):
        return None
    return max(notes, key=lambda note: note.onset).pitch


def key_correlation(key: Key, notes) -> float:
    """How well notes fit a key: correlation of their histogram with the key's profile."""
    histogram = pitch_class_histogram(notes)
    if not histogram.any():
        return 0.0
    return float(np.corrcoef(key.profile(), histogram)[0, 1]) if histogram.std() > 0 else 0.0


def in_scale_ratio(key: Key, notes) -> float:
    """Share of note time on the key's scale."""
    histogram = pitch_class_histogram(notes)
    total = histogram.sum()
    if total == 0:
        return 0.0
    return float(sum(histogram[pc] for pc in key.scale()) / total)
