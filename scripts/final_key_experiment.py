"""How should training name a whole piece's key before moving it to C major / A minor?

A preset learns its "C major" from every piece named major, moved to C. Named by the estimate
alone (the best correlation with Temperley's profiles), a modal piece — a Mixolydian one on G, a
Dorian or Aeolian one on D or A, a Phrygian one on E — is named by the major key of its notes, so
the preset's C major holds pieces that end, and cadence, on G, A and E. For each bundled style,
this script shows where pieces end relative to the estimated tonic, then, for each margin, how
often the named tonic is the piece's final (the lowest note of its last onset: the bass of its
last chord) and how well the pieces fit the key they are named in, by mode. Margin 0 is the
estimate training uses. A renaissance fit whose pieces were named at ``ENDING_MARGIN`` answered
worse on every count (BENCHMARKS.md, 2026-12-01 late), so training still names by the estimate.

Run: ``python scripts/final_key_experiment.py [STYLE ...]`` (needs the exports that
``python -m training.bundled NAME`` leaves in its cache folder).
"""

from __future__ import annotations

import collections
import sys

import numpy as np

from livegen.music.key import ENDING_MARGIN, Key, correlations, in_scale_ratio, key_correlation, pitch_class_histogram
from livegen.music.midifile.reading import read_midi
from training.bundled import STYLES, cache_root

MARGINS = (0.0, 0.05, ENDING_MARGIN, 0.15, 0.2, 0.3, 1.0)


def piece_final(notes) -> int:
    """The lowest pitch struck at the last onset: the bass of the last chord."""
    last = max(note.onset for note in notes)
    return min(note.pitch for note in notes if note.onset == last)


def named(notes, final: int, margin: float) -> Key:
    """The best key, or the best within ``margin`` of it whose tonic is ``final``."""
    scores = correlations(pitch_class_histogram(notes))
    best = int(np.argmax(scores))
    homes = [index for index in (final % 12, final % 12 + 12) if scores[index] >= scores[best] - margin]
    if homes:
        best = max(homes, key=lambda index: scores[index])
    return Key(best % 12, "major" if best < 12 else "minor")


def main(styles: list[str]) -> None:
    for style in styles:
        pieces = [(notes, piece_final(notes)) for notes in
                  (read_midi(path).notes for path in sorted((cache_root() / style).glob("*.mid"))) if notes]
        endings = collections.Counter()
        for notes, final in pieces:
            key = named(notes, final, 0.0)
            endings[(key.mode, (final - key.tonic) % 12)] += 1
        print(f"\n{style}: {len(pieces)} pieces; the final above the estimated tonic (semitones):")
        print("  " + ", ".join(f"{mode} +{step}: {count / len(pieces):.0%}"
                               for (mode, step), count in endings.most_common(6)))
        print("  margin | named on the final | major: pieces, fit, in scale | minor: pieces, fit, in scale")
        for margin in MARGINS:
            rows = []
            for notes, final in pieces:
                key = named(notes, final, margin)
                rows.append((key.mode, key.tonic == final % 12, key_correlation(key, notes), in_scale_ratio(key, notes)))
            cells = []
            for mode in ("major", "minor"):
                chosen = [row for row in rows if row[0] == mode]
                cells.append(f"{len(chosen)}, {np.mean([row[2] for row in chosen]):.3f}, "
                             f"{np.mean([row[3] for row in chosen]):.3f}")
            print(f"  {margin:6g} | {np.mean([row[1] for row in rows]):.0%} | {cells[0]} | {cells[1]}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(STYLES))
