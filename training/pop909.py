"""POP909 as it is: bars and beats from each song's ``beat_midi.txt``, its three tracks kept apart, every
note moved onto the codec's grid against those beats.

The dataset's MIDI times are performance times at one tempo, offset from tick 0; its beat file
gives each beat's time and marks the bar lines (third column: 4/4 downbeats). A song's notes are
read in beats by interpolating between the beat times, then put on the sixteenth-or-triplet grid
of the bar (what the style measure calls on the grid). A song is cut into its runs of regular
bars (the annotated downbeats four beats apart); bars of another length, a pickup before the
first bar line, or a missing track are reported with their reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np

from livegen.errors import LivegenError
from livegen.music.notes import TICKS_PER_BEAT, Note

TRACKS = ("MELODY", "BRIDGE", "PIANO")
BEATS_PER_BAR = 4
GRID_TICKS = np.array(sorted({0, 3, 6, 9, 4, 8, 12}))  # within a beat: sixteenths and triplets (and the next beat)
SIXTY_FOURTH_BEATS = 1 / 16  # no onset moves past a 32nd: that is half the grid's widest step (a sixteenth)
MIN_RUN_BARS = 4  # a run of regular bars shorter than this is not worth a training window


class SongError(LivegenError, ValueError):
    """A POP909 song that cannot be read, with the reason."""


@dataclass(frozen=True)
class Run:
    """A stretch of regular 4/4 bars of one song: each track's notes on the grid, ticks from its first bar line."""

    song: str
    first_bar: int  # the run's first bar, counted from the song's first bar line
    bars: int
    tracks: dict[str, tuple[Note, ...]]


@dataclass
class Reading:
    """What reading a song found: its runs, what was left out, and how far the grid moved its onsets."""

    song: str
    runs: list[Run] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # reasons, in words
    onsets: int = 0
    moved_past_a_64th: int = 0
    shift_beats: list[float] = field(default_factory=list)


def read_beats(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Beat times in seconds, and the indices of the beats that open a bar."""
    try:
        rows = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as error:
        raise SongError(f"{path}: cannot read the beat file ({error})") from error
    if rows.shape[1] < 3 or len(rows) < 2 * BEATS_PER_BAR or np.any(np.diff(rows[:, 0]) <= 0):
        raise SongError(f"{path}: not a beat file (time, two downbeat flags a line, times rising)")
    return rows[:, 0], np.flatnonzero(rows[:, 2] == 1.0)


def regular_runs(downbeats: np.ndarray, beat_count: int) -> list[tuple[int, int]]:
    """(first beat, bars) of each stretch where bar lines come every ``BEATS_PER_BAR`` beats."""
    runs, start = [], 0
    for index in range(1, len(downbeats) + 1):
        ends = index == len(downbeats) or downbeats[index] - downbeats[index - 1] != BEATS_PER_BAR
        if ends:
            bars = index - 1 - start
            last = downbeats[index - 1]
            if index == len(downbeats) and last + BEATS_PER_BAR <= beat_count:
                bars += 1  # the last bar line's bar is whole when its beats are all there
            if bars > 0:
                runs.append((int(downbeats[start]), bars))
            start = index
    return runs


def to_beats(seconds: np.ndarray, beat_times: np.ndarray) -> np.ndarray:
    """Performance times as beat positions, straight lines between beats (and past the ends)."""
    index = np.arange(len(beat_times), dtype=float)
    beats = np.interp(seconds, beat_times, index)
    before, after = seconds < beat_times[0], seconds > beat_times[-1]
    beats[before] = (seconds[before] - beat_times[0]) / (beat_times[1] - beat_times[0])
    beats[after] = len(beat_times) - 1 + (seconds[after] - beat_times[-1]) / (beat_times[-1] - beat_times[-2])
    return beats


def on_grid(beats: np.ndarray) -> np.ndarray:
    """Beat positions moved to the nearest sixteenth or triplet, in ticks."""
    whole = np.floor(beats)
    ticks_in_beat = (beats - whole) * TICKS_PER_BEAT
    nearest = GRID_TICKS[np.abs(ticks_in_beat[:, None] - GRID_TICKS[None, :]).argmin(axis=1)]
    return (whole * TICKS_PER_BEAT + nearest).astype(int)


def track_notes(midi: mido.MidiFile) -> dict[str, list[tuple[float, float, int, int]]]:
    """Each named track's notes as (start s, end s, pitch, velocity)."""
    tempo_map = _seconds_of_ticks(midi)
    notes: dict[str, list] = {}
    for track in midi.tracks:
        name = next((m.name.strip().upper() for m in track if m.type == "track_name"), None)
        if name not in TRACKS:
            continue
        sounding, found, tick = {}, [], 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                if message.note in sounding:  # struck again while it sounds: the first one ends here
                    start, velocity = sounding.pop(message.note)
                    found.append((tempo_map(start), tempo_map(tick), message.note, velocity))
                sounding[message.note] = (tick, message.velocity)
            elif message.type in ("note_on", "note_off") and message.note in sounding:
                start, velocity = sounding.pop(message.note)
                found.append((tempo_map(start), tempo_map(tick), message.note, velocity))
        notes[name] = found
    return notes


def _seconds_of_ticks(midi: mido.MidiFile):
    """Ticks to seconds through the file's tempo changes."""
    changes, tick = [(0, 500_000)], 0
    for message in mido.merge_tracks(midi.tracks):
        tick += message.time
        if message.type == "set_tempo":
            changes.append((tick, message.tempo))
    ticks = np.array([t for t, _ in changes], dtype=float)
    tempos = np.array([t for _, t in changes], dtype=float)
    seconds = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * tempos[:-1] / 1e6 / midi.ticks_per_beat)])

    def convert(at: int) -> float:
        index = int(np.searchsorted(ticks, at, side="right") - 1)
        return float(seconds[index] + (at - ticks[index]) * tempos[index] / 1e6 / midi.ticks_per_beat)

    return convert


def read_song(folder: Path) -> Reading:
    """One song's runs of regular bars, with what was left out and the grid's cost."""
    folder = Path(folder)
    reading = Reading(folder.name)
    beat_times, downbeats = read_beats(folder / "beat_midi.txt")
    try:
        midi = mido.MidiFile(folder / f"{folder.name}.mid")
    except (OSError, ValueError, EOFError) as error:
        raise SongError(f"{folder.name}: cannot read its MIDI file ({error})") from error
    tracks = track_notes(midi)
    missing = [name for name in TRACKS if not tracks.get(name) and name != "BRIDGE"]
    if missing:
        raise SongError(f"{folder.name}: no {' or '.join(missing)} track")
    if len(downbeats) == 0:
        raise SongError(f"{folder.name}: no bar line in its beat file")
    if downbeats[0] > 0:
        reading.left_out.append(f"a pickup of {downbeats[0]} beats before the first bar line")
    runs = regular_runs(downbeats, len(beat_times))
    beats_of = {name: (to_beats(np.array([n[0] for n in notes]), beat_times),
                       to_beats(np.array([n[1] for n in notes]), beat_times)) if notes else (np.zeros(0), np.zeros(0))
                for name, notes in tracks.items()}
    for name, (starts, _) in beats_of.items():
        shift = np.abs(on_grid(starts) / TICKS_PER_BEAT - starts)
        reading.onsets += len(starts)
        reading.moved_past_a_64th += int(np.sum(shift > SIXTY_FOURTH_BEATS))
        reading.shift_beats.extend(shift.tolist())
    for first_beat, bars in runs:
        if bars < MIN_RUN_BARS:
            reading.left_out.append(f"{bars} bar(s) at beat {first_beat} between irregular bar lines")
            continue
        reading.runs.append(_run(folder.name, downbeats, first_beat, bars, tracks, beats_of))
    irregular = [int(b - a) for a, b in zip(downbeats, downbeats[1:]) if b - a != BEATS_PER_BAR]
    if irregular:
        reading.left_out.append(f"{len(irregular)} bar(s) of other lengths ({sorted(set(irregular))} beats)")
    return reading


def _run(song, downbeats, first_beat, bars, tracks, beats_of) -> Run:
    """The notes of one run: those starting within it, on the grid from its first bar line, cut at its end."""
    start_tick, length = first_beat * TICKS_PER_BEAT, bars * BEATS_PER_BAR * TICKS_PER_BEAT
    kept = {}
    for name, notes in tracks.items():
        starts, ends = beats_of[name]
        onsets, offsets = on_grid(starts) - start_tick, on_grid(ends) - start_tick
        kept[name] = tuple(sorted(
            Note(int(onset), pitch, velocity, int(max(1, min(offset, length) - onset)))
            for onset, offset, (_, _, pitch, velocity) in zip(onsets, offsets, notes) if 0 <= onset < length))
    return Run(song, int(np.searchsorted(downbeats, first_beat)), bars, kept)
