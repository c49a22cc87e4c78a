"""Musical features of an excerpt, as a listener would compare it with the real music.

Each is transposition-invariant (the presets answer in the call's key, so key is measured
elsewhere) and named for what a musician hears: how dense and how many voices, how the top and
bass lines move, where it breathes, how it sits on the beat and in the call's groove, how
consonant its simultaneities are, and where its register lies against the call's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from livegen.music import codec

CONSONANT_INTERVALS = frozenset({0, 3, 4, 5, 7, 8, 9})  # mod 12; the fourth counts, as between upper voices
STEP_SEMITONES = 2
FEATURES = {
    "notes_per_bar": "notes a bar",
    "polyphony": "mean notes sounding, where any sound",
    "range": "pitch range, semitones",
    "pitch_class_entropy": "pitch-class entropy, bits",
    "top_motion": "top line: semitones a move",
    "top_steps": "top line: share of moves that are steps",
    "bass_motion": "bass line: semitones a move",
    "bass_steps": "bass line: share of moves that are steps",
    "silent_beats": "share of beats with nothing sounding",
    "on_beat": "share of onsets on a beat",
    "onset_entropy": "entropy of onset positions in the bar, bits",
    "note_length": "mean note length, log2 beats",
    "consonance": "consonant share of intervals sounding together",
    "register": "mean pitch against the call's, semitones",
    "groove": "onset pattern in the bar against the call's, cosine",
}


@dataclass(frozen=True)
class Excerpt:
    """Notes of a few bars (an answer or a real continuation) with the call they follow."""

    notes: tuple[codec.Note, ...]
    call: tuple[codec.Note, ...]
    start: int  # the excerpt's first tick
    bars: int
    bar_ticks: int
    group: str  # the call it answers: folds never split a group


def features(excerpt: Excerpt) -> np.ndarray:
    """The excerpt's feature vector, in the order of ``FEATURES``."""
    notes = [n for n in excerpt.notes if excerpt.start <= n.onset < excerpt.start + excerpt.bars * excerpt.bar_ticks]
    span = excerpt.bars * excerpt.bar_ticks
    sounding = _sounding_counts(notes, excerpt.start, span)
    onsets = sorted({n.onset for n in notes})
    top = _line(notes, onsets, max)
    bass = _line(notes, onsets, min)
    pitches = [n.pitch for n in notes]
    call_pitches = [n.pitch for n in excerpt.call]
    values = {
        "notes_per_bar": len(notes) / excerpt.bars,
        "polyphony": float(sounding[sounding > 0].mean()) if (sounding > 0).any() else 0.0,
        "range": float(max(pitches) - min(pitches)) if pitches else 0.0,
        "pitch_class_entropy": _entropy(_pitch_class_weights(notes)),
        "top_motion": _mean_motion(top),
        "top_steps": _step_share(top),
        "bass_motion": _mean_motion(bass),
        "bass_steps": _step_share(bass),
        "silent_beats": _silent_beat_share(sounding),
        "on_beat": float(np.mean([(t - excerpt.start) % codec.TICKS_PER_BEAT == 0 for t in onsets])) if onsets else 0.0,
        "onset_entropy": _entropy(_onset_pattern(onsets, excerpt.bar_ticks)),
        "note_length": float(np.mean([math.log2(n.duration / codec.TICKS_PER_BEAT) for n in notes])) if notes else 0.0,
        "consonance": _consonance(notes, onsets),
        "register": float(np.mean(pitches) - np.mean(call_pitches)) if pitches and call_pitches else 0.0,
        "groove": _cosine(_onset_pattern(onsets, excerpt.bar_ticks),
                          _onset_pattern(sorted({n.onset for n in excerpt.call}), excerpt.bar_ticks)),
    }
    return np.array([values[name] for name in FEATURES])


def _sounding_counts(notes, start: int, span: int) -> np.ndarray:
    """How many notes sound at each tick of the excerpt."""
    counts = np.zeros(span, dtype=np.int32)
    for note in notes:
        counts[note.onset - start:min(span, note.onset - start + note.duration)] += 1
    return counts


def _line(notes, onsets, choose) -> list[int]:
    """The top (``max``) or bass (``min``) line: at each onset, the extreme pitch then sounding."""
    line = []
    for onset in onsets:
        sounding = [n.pitch for n in notes if n.onset <= onset < n.onset + n.duration]
        line.append(choose(sounding))
    return line


def _moves(line) -> np.ndarray:
    steps = np.abs(np.diff(line))
    return steps[steps > 0]


def _mean_motion(line) -> float:
    moves = _moves(line)
    return float(moves.mean()) if len(moves) else 0.0


def _step_share(line) -> float:
    moves = _moves(line)
    return float(np.mean(moves <= STEP_SEMITONES)) if len(moves) else 1.0


def _silent_beat_share(sounding: np.ndarray) -> float:
    beats = sounding.reshape(-1, codec.TICKS_PER_BEAT)
    return float(np.mean(beats.max(axis=1) == 0))


def _pitch_class_weights(notes) -> np.ndarray:
    weights = np.zeros(12)
    for note in notes:
        weights[note.pitch % 12] += note.duration
    return weights


def _onset_pattern(onsets, bar_ticks: int) -> np.ndarray:
    pattern = np.zeros(bar_ticks)
    for onset in onsets:
        pattern[onset % bar_ticks] += 1
    return pattern


def _entropy(weights: np.ndarray) -> float:
    total = weights.sum()
    if total <= 0:
        return 0.0
    shares = weights[weights > 0] / total
    return float(-(shares * np.log2(shares)).sum())


def _cosine(first: np.ndarray, second: np.ndarray) -> float:
    norms = np.linalg.norm(first) * np.linalg.norm(second)
    return float(first @ second / norms) if norms > 0 else 0.0


def _consonance(notes, onsets) -> float:
    """At each onset, the share of intervals between the notes then sounding that are consonant."""
    consonant = total = 0
    for onset in onsets:
        sounding = sorted(n.pitch for n in notes if n.onset <= onset < n.onset + n.duration)
        for low_index, low in enumerate(sounding):
            for high in sounding[low_index + 1:]:
                total += 1
                consonant += (high - low) % 12 in CONSONANT_INTERVALS
    return consonant / total if total else 1.0


def random_pitches(excerpt: Excerpt, rng: np.random.Generator) -> Excerpt:
    """The control: the same rhythm and note lengths, pitches drawn at random within its range."""
    pitches = [n.pitch for n in excerpt.notes]
    if not pitches:
        return excerpt
    low, high = min(pitches), max(pitches)
    notes = tuple(codec.Note(n.onset, int(rng.integers(low, high + 1)), n.velocity, n.duration)
                  for n in excerpt.notes)
    return Excerpt(notes, excerpt.call, excerpt.start, excerpt.bars, excerpt.bar_ticks, excerpt.group)
