"""A folder of music files to checked pieces: fast MIDI via mido, notation via music21, cached."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import click

from livegen.atomic import atomic_write
from livegen.music.codec import TICKS_PER_BEAT, Meter, Note
from livegen.music.midifile import (
    DEFAULT_TEMPO_BPM,
    MidiFileError,
    Piece,
    assemble_piece,
    read_midi,
    time_signature_ticks,
)
from livegen.training.config import TrainingError

MIDI_SUFFIXES = frozenset({".mid", ".midi"})
NOTATION_SUFFIXES = frozenset({".xml", ".musicxml", ".mxl", ".krn", ".abc"})
PARSER_VERSION = 1  # bump when parsing changes, so old cache entries are not used
MAX_SCORE_BYTES = 64 * 1024 * 1024
DEFAULT_VELOCITY = 80


@dataclass
class IngestReport:
    """What a folder gave: usable files (and their pieces, if kept), skipped files with reasons,
    warnings, a data hash."""

    folder: Path
    pieces: list[tuple[Path, Piece]] = field(default_factory=list)
    files_used: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[tuple[Path, str]] = field(default_factory=list)
    hash: str = ""
    cache_hits: int = 0


# Files a worker process reads per task, and tasks in flight per worker: small enough that a
# large folder's pieces never pile up waiting for the trainer, large enough to hide the hand-over
# (one task a file ran at 540 files/s on two workers, 16 a task at 712: 3,044 MIDI files).
FILES_PER_TASK = 16
TASKS_IN_FLIGHT = 4


@dataclass(frozen=True)
class Parsed:
    """What reading one file gave: its digest and piece (or why not), and whether the cache had it."""

    digest: str = ""
    piece: Piece | None = None
    from_cache: bool = False
    reason: str = ""
    cache_warning: str = ""


def ingest(folder, cache_dir=None, progress: bool = True, processes: int = 1) -> IngestReport:
    """Read every music file under ``folder`` (sorted, recursive); bad files are skipped."""
    report = IngestReport(Path(folder))
    report.pieces = list(read_folder(report, cache_dir, progress, processes))
    return report


def read_folder(report: IngestReport, cache_dir=None, progress: bool = True, processes: int = 1):
    """Yield ``(path, piece)`` for each usable music file under ``report.folder``, one at a time.

    Nothing is kept: skipped files, warnings and counts go into ``report``, and the data hash
    too, once the last file is read. With ``processes`` above 1, files are parsed in that many
    worker processes, a few tasks ahead, and come back in the same order; every parsed file is
    in the cache as soon as its worker has it, so an interrupted ingest goes on from there.
    """
    folder = report.folder
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise TrainingError(f"ingest processes must be a whole number of at least 1, got {processes!r}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    digests = []
    paths = music_files(folder)
    with _progress(paths, progress) as shown:
        for path, parsed in zip(shown, _parse_all(paths, cache, processes)):
            if parsed.cache_warning:
                report.warnings.append((cache, parsed.cache_warning))
            if parsed.piece is None:
                report.skipped.append((path, parsed.reason))
                continue
            report.cache_hits += parsed.from_cache
            report.warnings.extend((path, warning) for warning in parsed.piece.warnings)
            digests.append(parsed.digest)
            report.files_used += 1
            yield path, parsed.piece
    report.hash = hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()


def _parse_all(paths: list[Path], cache: Path, processes: int):
    """Each path's :class:`Parsed`, in order: in this process, or in ``processes`` workers."""
    if processes == 1 or len(paths) <= FILES_PER_TASK:
        yield from (_parse(path, cache) for path in paths)
        return
    tasks = (paths[start:start + FILES_PER_TASK] for start in range(0, len(paths), FILES_PER_TASK))
    # Spawned, not forked: the trainer has TensorFlow's threads running by now.
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = deque(pool.submit(_parse_many, task, cache)
                        for task in itertools.islice(tasks, processes * TASKS_IN_FLIGHT))
        while pending:
            done = pending.popleft().result()
            for task in itertools.islice(tasks, 1):
                pending.append(pool.submit(_parse_many, task, cache))
            yield from done


def _parse_many(paths: list[Path], cache: Path) -> list[Parsed]:
    return [_parse(path, cache) for path in paths]


def music_files(folder: Path) -> list[Path]:
    """Files under ``folder`` with a suffix we can read, in a reproducible order."""
    suffixes = MIDI_SUFFIXES | NOTATION_SUFFIXES
    return sorted(path for path in folder.rglob("*")
                  if path.suffix.lower() in suffixes and path.is_file())


def default_cache_dir() -> Path:
    """``$LIVEGEN_CACHE_DIR``, else the user's cache folder (XDG) under ``livegen/ingest``."""
    if os.environ.get("LIVEGEN_CACHE_DIR"):
        return Path(os.environ["LIVEGEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "livegen" / "ingest"


def _progress(paths: list[Path], enabled: bool):
    if not enabled:
        return contextlib.nullcontext(paths)
    return click.progressbar(paths, label="Reading music files", file=sys.stderr,
                             show_pos=True, item_show_func=lambda path: path and path.name)


def _parse(path: Path, cache: Path) -> Parsed:
    """One file's digest and piece, or why it is skipped."""
    try:
        data = _read_limited(path)
        digest = hashlib.sha256(data).hexdigest()
        return _cached_piece(path, data, digest, cache)
    except Exception as error:  # any broken file is skipped with its reason, never fatal
        return Parsed(reason=_reason(error))


def _read_limited(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_SCORE_BYTES:
        raise MidiFileError(f"the file is {size / 2**20:.0f} MB; the limit is "
                            f"{MAX_SCORE_BYTES // 2**20} MB")
    return path.read_bytes()


def _reason(error: Exception) -> str:
    if isinstance(error, MidiFileError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _cached_piece(path: Path, data: bytes, digest: str, cache: Path) -> Parsed:
    """The file's piece from the cache, else parsed and stored."""
    is_midi = path.suffix.lower() in MIDI_SUFFIXES
    entry = cache / f"{digest}-{'midi' if is_midi else 'music21'}-v{PARSER_VERSION}.json"
    piece = _load_entry(entry)
    if piece is not None:
        return Parsed(digest, piece, from_cache=True)
    piece = read_midi(data) if is_midi else read_music21(path)
    try:
        _store_entry(entry, piece)
    except OSError as error:  # a read-only cache slows the next run; it does not stop this one
        return Parsed(digest, piece, cache_warning=f"cannot write the cache: {error}")
    return Parsed(digest, piece)


def _load_entry(entry: Path) -> Piece | None:
    """A cached piece, or None when the entry is missing or damaged (it is then rewritten)."""
    try:
        stored = json.loads(entry.read_text())
        return Piece(
            tuple(Note(*map(int, note)) for note in stored["notes"]),
            Meter(tuple((int(start), int(ticks)) for start, ticks in stored["meter"])),
            float(stored["tempo_bpm"]),
            tuple(str(warning) for warning in stored["warnings"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store_entry(entry: Path, piece: Piece) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({
        "notes": [[note.onset, note.pitch, note.velocity, note.duration] for note in piece.notes],
        "meter": [list(change) for change in piece.meter.changes],
        "tempo_bpm": piece.tempo_bpm,
        "warnings": list(piece.warnings),
    }, separators=(",", ":"))
    # Two ingests sharing a cache never see half an entry; one lost in a crash is only parsed again.
    atomic_write(entry, text.encode(), sync=False)


def read_music21(path) -> Piece:
    """A notation file (MusicXML, kern, ABC; MIDI too, slowly) as a Piece, through music21."""
    from music21 import converter

    score = converter.parse(str(path), forceSource=True, storePickle=False)
    return piece_from_score(score)


def piece_from_score(score) -> Piece:
    """A music21 stream as a Piece: parts merged, ties joined, a pickup bar kept off the beat."""
    from music21 import chord, meter, note, stream, tempo

    warnings = []
    if isinstance(score, stream.Opus):
        warnings.append(f"the file holds {len(score.scores)} pieces; only the first is used")
        score = score.scores.first()
        if score is None:
            raise MidiFileError("the file holds no pieces")
    shift = _pickup_ticks(score)
    flat = score.stripTies().flatten()
    notes = []
    for element in flat.getElementsByClass((note.Note, chord.Chord)):
        onset = _ticks(element.offset) + shift
        duration = _ticks(element.duration.quarterLength)
        velocity = element.volume.velocity
        for pitch in element.pitches:
            notes.append((onset, pitch.midi, DEFAULT_VELOCITY if velocity is None else velocity,
                          duration))
    changes = [
        (_ticks(signature.offset) + shift if signature.offset > 0 else 0,
         time_signature_ticks(signature.numerator, signature.denominator))
        for signature in flat.getElementsByClass(meter.TimeSignature)
    ]
    mark = flat.getElementsByClass(tempo.MetronomeMark).first()
    tempo_bpm = mark.getQuarterBPM() if mark is not None and mark.number else DEFAULT_TEMPO_BPM
    return assemble_piece(notes, changes, float(tempo_bpm), warnings)


def _pickup_ticks(score) -> int:
    """How far a pickup (anacrusis) first bar starts after its bar line, in ticks."""
    from music21 import stream

    first_bar = score.recurse().getElementsByClass(stream.Measure).first()
    return 0 if first_bar is None else _ticks(first_bar.paddingLeft)


def _ticks(quarter_length) -> int:
    """Quarter lengths (float or Fraction) to grid ticks, rounding halves up."""
    return math.floor(Fraction(quarter_length) * TICKS_PER_BEAT + Fraction(1, 2))


def format_report(report: IngestReport) -> str:
    """A musician's summary: files used and skipped (each with its reason), warnings."""
    lines = [f"used {report.files_used} files ({report.cache_hits} from the cache), "
             f"skipped {len(report.skipped)}" + (":" if report.skipped else "")]
    lines += [f"  {_name(path, report)} — {reason}" for path, reason in report.skipped]
    if report.warnings:
        lines.append(f"{len(report.warnings)} warnings:")
        lines += [f"  {_name(path, report)} — {warning}" for path, warning in report.warnings]
    return "\n".join(lines)


def _name(path: Path, report: IngestReport) -> str:
    return str(path.relative_to(report.folder)) if path.is_relative_to(report.folder) else str(path)
