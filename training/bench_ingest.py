"""How fast MIDI files are read: our mido path against music21 on the same files, and a whole
folder's ingest in one and in several processes.

``python -m livegen.training.bench_ingest FOLDER 1 2`` prints the ingest rows for 1 and 2 processes.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from livegen.music.midifile import MidiFileError, read_midi
from livegen.training.config import TrainingError
from livegen.training.midi_folder import MIDI_SUFFIXES, ingest, music_files, read_music21


def bench_ingest(folder) -> dict:
    """Files per second of ``read_midi`` and of music21 (parse + same conversion) on the
    readable .mid files of ``folder``, read from disk each time, without our ingest cache."""
    paths = [path for path in music_files(Path(folder)) if path.suffix.lower() in MIDI_SUFFIXES]
    readable = [path for path in paths if _reads(path)]
    if not readable:
        raise TrainingError(f"{folder} holds no readable MIDI files to measure")
    read_music21(readable[0])  # music21's imports and first-call set-up are not parsing time
    mido_seconds = min(_seconds(read_midi, readable) for _ in range(3))
    music21_seconds = _seconds(read_music21, readable)
    return {
        "files": len(readable),
        "notes": sum(len(read_midi(path).notes) for path in readable),
        "mido_files_per_s": len(readable) / mido_seconds,
        "music21_files_per_s": len(readable) / music21_seconds,
        "speedup": music21_seconds / mido_seconds,
    }


def _reads(path: Path) -> bool:
    try:
        read_midi(path)
    except MidiFileError:
        return False
    return True


def _seconds(reader, paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        reader(path)
    return time.perf_counter() - start


def bench_folder_ingest(folder, processes: int) -> dict:
    """Files/s of :func:`ingest` on ``folder`` in ``processes`` processes: from an empty cache, then again from it."""
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        report = ingest(folder, cache_dir=cache, progress=False, processes=processes)
        parsed = time.perf_counter() - started
        started = time.perf_counter()
        again = ingest(folder, cache_dir=cache, progress=False, processes=processes)
        cached = time.perf_counter() - started
    files = report.files_used + len(report.skipped)
    return {"processes": processes, "files": files, "used": report.files_used,
            "files_per_s": round(files / parsed, 1), "cached_files_per_s": round(files / cached, 1),
            "cache_hits": again.cache_hits}


if __name__ == "__main__":
    print(json.dumps([bench_folder_ingest(sys.argv[1], int(count)) for count in sys.argv[2:]], indent=1))
