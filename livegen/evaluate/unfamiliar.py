"""Calls unlike any training piece: made-up melodies, alone or over left-hand chords, in every key and meter.

A preset is measured on calls cut from its own held-out pieces, which share their style with its
training data. A musician plays other things: a tune in F# major, a waltz in B-flat minor, a
melody over block chords. These calls are drawn at random (seeded) from a few rules anyone would
play — a melody that moves mostly by step within one key's scale, on a rhythm of the meter, and
ends on the tonic; chords on I, IV, V and I under it — so the key of each call is known by
construction. Only the answers' key is judged on them: there is no real continuation to compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from livegen.evaluate.config import EvalConfig
from livegen.model.generate import continue_notes
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler
from livegen.music import codec
from livegen.music.key import MAJOR_SCALE, MINOR_SCALE, PITCH_NAMES, Key, in_scale_ratio, key_correlation

KEY_TARGET = 0.75  # mean key correlation of the answers with the key the call was written in
SCALE_TARGET = 0.9  # share of the answers' note time in that key's scale

BAR_TICKS = {"4/4": 48, "3/4": 36, "6/8": 36}  # ticks of 1/12 beat: 6/8 is six eighths, three quarter beats
KINDS = ("melody", "melody+chords")
RHYTHMS = {  # onsets and lengths in ticks of one bar, a few per meter
    "4/4": [((0, 12), (12, 12), (24, 12), (36, 12)), ((0, 18), (18, 6), (24, 12), (36, 12)),
            ((0, 6), (6, 6), (12, 12), (24, 6), (30, 6), (36, 12))],
    "3/4": [((0, 12), (12, 12), (24, 12)), ((0, 24), (24, 12)), ((0, 6), (6, 6), (12, 12), (24, 12))],
    "6/8": [((0, 6), (6, 6), (12, 6), (18, 6), (24, 6), (30, 6)), ((0, 12), (12, 6), (18, 12), (30, 6)),
            ((0, 18), (18, 18))],
}
CALL_BARS = 2
CHORD_DEGREES = (0, 3, 4, 0)  # I, IV, V, I: one a half bar
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)
CHORD_LOW = 48  # C3: the left hand's chords lie in the octave above it


@dataclass(frozen=True)
class MadeCall:
    """A made-up call and the key it was written in."""

    name: str
    kind: str  # one of KINDS
    notes: tuple[codec.Note, ...]
    meter: codec.Meter
    key: Key


def _melody(key: Key, meter_name: str, rng: np.random.Generator, low: int) -> list[codec.Note]:
    scale = MAJOR_SCALE if key.mode == "major" else MINOR_SCALE[:7]
    degrees = [low + key.tonic + step + 12 * octave for octave in range(2) for step in scale]
    bar_ticks = BAR_TICKS[meter_name]
    index = int(rng.integers(0, 5))
    notes = []
    for bar in range(CALL_BARS):
        rhythm = RHYTHMS[meter_name][int(rng.integers(len(RHYTHMS[meter_name])))]
        for onset, length in rhythm:
            index = int(np.clip(index + rng.choice([-2, -1, -1, 1, 1, 2, 0]), 0, len(degrees) - 1))
            notes.append(codec.Note(bar * bar_ticks + onset, degrees[index], 80, length))
    last = notes[-1]
    tonic = min((p for p in degrees if p % 12 == key.tonic), key=lambda p: abs(p - last.pitch))
    notes[-1] = codec.Note(last.onset, tonic, last.velocity, last.duration)  # it ends at home
    return notes


def _chords(key: Key, meter_name: str) -> list[codec.Note]:
    """Block triads on I, IV, V and I (the minor's V with its leading tone), a half bar each, around C3."""
    scale = MAJOR_SCALE if key.mode == "major" else HARMONIC_MINOR
    half = BAR_TICKS[meter_name] // 2
    notes = []
    for number, degree in enumerate(CHORD_DEGREES):
        for third in range(3):
            step = scale[(degree + 2 * third) % 7]
            notes.append(codec.Note(number * half, CHORD_LOW + (key.tonic + step) % 12, 64, half))
    return notes


def made_calls(count_per_kind: int = 1, seed: int = 0) -> list[MadeCall]:
    """Melodies and melodies over chords, in all 24 keys, cycling through the meters."""
    rng = np.random.default_rng(seed)
    calls = []
    keys = [Key(tonic, mode) for mode in ("major", "minor") for tonic in range(12)]
    for number, key in enumerate(keys):
        meter_name = list(BAR_TICKS)[number % len(BAR_TICKS)]
        meter = codec.Meter(((0, BAR_TICKS[meter_name]),))
        for copy in range(count_per_kind):
            melody = _melody(key, meter_name, rng, low=60)
            with_chords = _melody(key, meter_name, rng, low=60) + _chords(key, meter_name)
            for kind, notes in zip(KINDS, (melody, with_chords)):
                name = f"{kind} in {PITCH_NAMES[key.tonic]} {key.mode}, {meter_name} #{copy + 1}"
                calls.append(MadeCall(name, kind, tuple(sorted(notes, key=lambda n: (n.onset, n.pitch))), meter, key))
    return calls


def unfamiliar_keys(model: StepModel, key_mode: str, config: EvalConfig = EvalConfig()) -> dict:
    """Answers to the made-up calls, judged against the key each call was written in."""
    sampling = config.sampling()
    rows = []
    for call in made_calls():
        for seed in range(config.seeds):
            answer = continue_notes(model, key_mode, list(call.notes), call.meter, config.answer_bars,
                                    Sampler(sampling, seed=seed))
            rows.append((call, key_correlation(call.key, answer.notes), in_scale_ratio(call.key, answer.notes)))
    correlation = float(np.mean([row[1] for row in rows]))
    in_scale = float(np.mean([row[2] for row in rows]))
    by_kind = {}
    for kind in KINDS:
        chosen = [row for row in rows if row[0].kind == kind]
        by_kind[kind] = {"key_correlation": float(np.mean([row[1] for row in chosen])),
                         "in_scale": float(np.mean([row[2] for row in chosen]))}
    return {"calls": len(rows) // config.seeds, "answers": len(rows), "key_correlation": correlation,
            "in_scale": in_scale, "by_kind": by_kind,
            "met": correlation >= KEY_TARGET and in_scale >= SCALE_TARGET}

