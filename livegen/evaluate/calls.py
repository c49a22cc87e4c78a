"""The held-out calls an evaluation answers: every readable MIDI file of a folder."""

from __future__ import annotations

from pathlib import Path

from livegen.music.midifile import MidiFileError, read_midi

CALLS_FOLDER = "calls"  # held-out pieces a bundled preset carries for its evaluation


def read_calls(folder: Path, skipped=None):
    """``(name, Piece)`` of every readable MIDI file in ``folder``, sorted by name.

    A file that cannot be read is left out; ``skipped`` (a list), when given, gets
    ``(file name, reason)`` for each.
    """
    files = sorted(path for path in Path(folder).iterdir() if path.suffix.lower() in {".mid", ".midi"})
    if not files:
        raise FileNotFoundError(f"no .mid files in {folder} to cut calls from")
    skipped = [] if skipped is None else skipped
    calls = []
    for path in files:
        try:
            calls.append((path.stem, read_midi(path)))
        except (MidiFileError, OSError) as error:
            skipped.append((path.name, str(error)))
    if not calls:
        name, reason = skipped[0]
        raise FileNotFoundError(f"none of the {len(files)} .mid files in {folder} can be read "
                                f"({name}: {reason})")
    return calls
