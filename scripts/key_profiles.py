"""Which key profiles name the key of a short call best? Krumhansl–Kessler, Albrecht–Shanahan, Kostka–Payne.

Two sets of 2-bar calls: the 48 made-up calls of :mod:`livegen.evaluate.unfamiliar` (the key each
was written in is known), and the opening 2-bar call of each bundled preset's held-out pieces,
against the key the Krumhansl–Kessler estimate gives the whole piece (a proxy that favours
Krumhansl–Kessler itself). Prints the share named right for each profile pair.

Run: ``python scripts/key_profiles.py``.
"""

from __future__ import annotations

import numpy as np

from livegen.evaluate.cutting import cut_windows
from livegen.evaluate.unfamiliar import made_calls
from livegen.model import preset as presets
from livegen.music import key as keys
from livegen.music.key import Key, pitch_class_histogram
from livegen.music.midifile import read_midi

PROFILES = {
    "Krumhansl-Kessler (1982)": (keys.MAJOR_PROFILE, keys.MINOR_PROFILE),
    "Albrecht-Shanahan (2013)": (
        np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081]),
        np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052])),
    "Temperley / Kostka-Payne (2001)": (keys.ESTIMATE_MAJOR_PROFILE, keys.ESTIMATE_MINOR_PROFILE),
}


def estimate(notes, major: np.ndarray, minor: np.ndarray) -> Key:
    histogram = pitch_class_histogram(notes)
    scores = [(np.corrcoef(np.roll(profile, tonic), histogram)[0, 1], Key(tonic, mode))
              for mode, profile in (("major", major), ("minor", minor)) for tonic in range(12)]
    return max(scores, key=lambda score: score[0])[1]


def opening_calls():
    """The first 2-bar call of each held-out piece of the bundled presets, with the whole piece's key."""
    calls = []
    for name in ("chorale", "folk", "renaissance"):
        for path in sorted((presets.find(name) / "calls").glob("*.mid")):
            piece = read_midi(path)
            windows = list(cut_windows(path.stem, piece, 2, 8, 4))
            if windows:
                calls.append((list(windows[0][0]), estimate(piece.notes, keys.MAJOR_PROFILE, keys.MINOR_PROFILE)))
    return calls


def main() -> None:
    made, opening = made_calls(), opening_calls()
    print(f"{len(made)} made-up calls, {len(opening)} opening calls of held-out pieces")
    for name, (major, minor) in PROFILES.items():
        right_made = np.mean([estimate(call.notes, major, minor) == call.key for call in made])
        melodies = [call for call in made if "chords" not in call.name]
        right_melodies = np.mean([estimate(call.notes, major, minor) == call.key for call in melodies])
        right_opening = np.mean([estimate(notes, major, minor) == key for notes, key in opening])
        print(f"{name:32s} made-up {right_made:.2f} (melodies alone {right_melodies:.2f}), "
              f"opening calls {right_opening:.2f}")


if __name__ == "__main__":
    main()
