"""Can the key of a 2-bar call be read better than by its pitch-class profile alone?

Made-up melodies end on their tonic by construction, so weighing a call's last note more names
their key more often; the question is whether real calls agree. Each candidate reweighs the
duration-weighted histogram the estimate correlates with Temperley's profiles: the last onset
(``final``), notes on the bar line and on beats (``metric``), the lowest note of each onset
(``bass``). Real calls: 2-bar windows of the bundled exports (folk tunes: bars 1-2, 3-4, 5-6, 7-8
and 15-16, where strains end; chorales and renaissance pieces: bars 1-2, full and top line),
judged against the whole piece's estimated key; the last row is the rule livegen ships (a lone
melody's last note names the key among those within ``ENDING_MARGIN`` of the best). ``--likelihood PRESET`` also tries choosing
among the estimate's top candidates by the preset's own log-likelihood of the call, on the
held-out files of its export.

Run: ``python scripts/call_key_experiment.py [--likelihood chorale]`` (needs the exports that
``python -m training.bundled NAME`` leaves in its cache folder).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from livegen.evaluate.unfamiliar import made_calls
from livegen.model import preset as presets
from livegen.model.runtime import StepModel
from livegen.music import codec, voices
from livegen.music.hearing import Hearing
from livegen.music.key import (ENDING_MARGIN, Key, bar_token, call_key, correlations, estimate_key,
                               pitch_class_histogram, tells_mode)
from livegen.music.midifile.reading import read_midi
from training.bundled import cache_root
from training.dataset import split_by_file

WEIGHTINGS = [(0, 0, 0), (0.25, 0, 0), (0.5, 0, 0), (1, 0, 0), (2, 0, 0), (0, 0.5, 0), (0, 1, 0),
              (0.5, 0.5, 0), (0, 0, 1)]


def weighted_key(notes, meter: codec.Meter, final: float, metric: float, bass: float) -> Key:
    last = max(note.onset for note in notes)
    lowest = {}
    for note in notes:
        lowest[note.onset] = min(lowest.get(note.onset, 128), note.pitch)
    histogram = np.zeros(12)
    for note in notes:
        weight = note.duration
        position = meter.locate(note.onset)[1]
        weight *= 1 + (metric if position == 0 else metric / 2 if position % codec.TICKS_PER_BEAT == 0 else 0)
        weight *= 1 + (final if note.onset == last else 0)
        weight *= 1 + (bass if note.pitch == lowest[note.onset] else 0)
        histogram[note.pitch % 12] += weight
    best = int(np.argmax(correlations(histogram)))
    return Key(best % 12, "major" if best < 12 else "minor")


def top_line(notes) -> list[codec.Note]:
    highest = {}
    for note in notes:
        if note.onset not in highest or note.pitch > highest[note.onset].pitch:
            highest[note.onset] = note
    return [highest[onset] for onset in sorted(highest)]


def windows(paths, first_bar: int):
    """(call, meter, the whole piece's key) for the 2 bars from ``first_bar`` (after any pickup)."""
    found = []
    for path in paths:
        piece = read_midi(path)
        notes, meter = list(piece.notes), piece.meter
        if not notes:
            continue
        opening = meter.locate(min(note.onset for note in notes))
        first = first_bar + (1 if opening[1] != 0 or opening[0] else 0)
        if meter.locate(max(note.onset for note in notes))[0] < first + 4:
            continue
        start, end = meter.bar_start(first), meter.bar_start(first + 2)
        call = codec.rebase([note for note in notes if start <= note.onset < end], start)
        if len(call) >= 3:
            found.append((call, codec.Meter(((0, meter.bar_ticks(first)),)), estimate_key(notes)))
    return found


def call_sets(paths_of) -> dict:
    made = made_calls()
    sets = {"made-up melodies": [(list(c.notes), c.meter, c.key) for c in made if c.kind == "melody"],
            "made-up melodies over chords": [(list(c.notes), c.meter, c.key) for c in made if c.kind != "melody"]}
    for bar in (0, 2, 4, 6, 14):
        sets[f"folk bars {bar + 1}-{bar + 2}"] = windows(paths_of("folk"), bar)
    for style in ("chorale", "renaissance"):
        openings = windows(paths_of(style), 0)
        sets[f"{style} bars 1-2"] = openings
        sets[f"{style} bars 1-2, top line"] = [(top_line(call), meter, key) for call, meter, key in openings]
    return sets


def loglik(model: StepModel, key_mode: str, notes, meter: codec.Meter, key: Key) -> float:
    """The preset's log-likelihood of the call heard in ``key`` (its first token included)."""
    how = Hearing(key, key.to_canonical(), bar_token(tells_mode(key_mode), key))
    tokens = how.encode(notes, meter)
    state = model.initial_state()
    logits, total = state.logits, 0.0
    for token, heard in zip(tokens, voices.read(tokens, codec.Cursor(meter, how.bar_token))):
        values = logits.astype(np.float64)
        top = values.max()
        total += values[token] - top - math.log(np.exp(values - top).sum())
        logits = model.step(int(token), state, heard)
    return total


def likeliest_key(model, key_mode, notes, meter, candidates: int) -> Key:
    scores = correlations(pitch_class_histogram(notes))
    keys = [Key(int(best) % 12, "major" if best < 12 else "minor") for best in np.argsort(-scores)[:candidates]]
    return max(keys, key=lambda key: loglik(model, key_mode, notes, meter, key))


def main(argv) -> None:
    root = cache_root()

    def paths_of(style):
        return sorted((root / style).glob("*.mid"))

    sets = call_sets(paths_of)
    print("calls: " + ", ".join(f"{name} {len(calls)}" for name, calls in sets.items()))
    print("share of calls whose key is named right (final, metric, bass weights):")
    for weights in WEIGHTINGS:
        shares = [np.mean([weighted_key(c, m, *weights) == k for c, m, k in calls]) for calls in sets.values()]
        print(f"  {weights}: " + ", ".join(f"{share:.3f}" for share in shares))
    shares = [np.mean([call_key(c) == k for c, m, k in calls]) for calls in sets.values()]
    print(f"  as livegen hears a call (a lone melody's ending within {ENDING_MARGIN} of the best): "
          + ", ".join(f"{share:.3f}" for share in shares))
    if "--likelihood" in argv:
        name = argv[argv.index("--likelihood") + 1]
        loaded = presets.load(name)
        model = StepModel(loaded.weights)
        _, held_out = split_by_file([(path, None) for path in paths_of(name)], 0.1, 0)
        mine = {"held-out bars 1-2": windows([path for path, _ in held_out], 0)}
        mine["held-out bars 1-2, top line"] = [(top_line(c), m, k) for c, m, k in mine["held-out bars 1-2"]]
        mine.update({key: sets[key] for key in ("made-up melodies", "made-up melodies over chords")})
        print(f"{name}: the key among the estimate's top N that the preset finds likeliest ("
              + ", ".join(f"{n} {len(c)}" for n, c in mine.items()) + ")")
        for candidates in (1, 2, 4, 6):
            shares = [np.mean([likeliest_key(model, loaded.key_mode, c, m, candidates) == k for c, m, k in calls])
                      for calls in mine.values()]
            print(f"  top {candidates}: " + ", ".join(f"{share:.3f}" for share in shares))


if __name__ == "__main__":
    main(sys.argv[1:])
