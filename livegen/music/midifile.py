"""Standard MIDI files to notes on the codec's tick grid and back. Uses mido only (live-safe)."""

from __future__ import annotations

import io
import os
import re
import struct
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

import mido

from livegen.atomic import write_atomically

from .codec import MAX_BAR_TICKS, PITCH_HIGH, PITCH_LOW, TICKS_PER_BEAT, Meter, Note, merge_unisons

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_BARS = 10_000
MAX_DELTA_TICKS = 0x0FFFFFFF  # the largest delta time a MIDI file can hold (a 4-byte number)
# No event holds this many bytes above 127 in a row; mido reads such a run as one number, in
# time quadratic in its length (300 kB: 15 s; 16 MB: hours), so it is refused before parsing.
MAX_HIGH_BYTE_RUN = 1024
_HIGH_BYTE_RUN = re.compile(rb"[\x80-\xff]{%d}" % (MAX_HIGH_BYTE_RUN + 1))
_CHUNK_NAME = re.compile(rb"[\x20-\x7e]{4}")
DEFAULT_TEMPO_BPM = 120.0
DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
SUSTAIN_CONTROL = 64
WHOLE_NOTE_TICKS = 4 * TICKS_PER_BEAT


@dataclass(frozen=True)
class Piece:
    """The notes of one file on the 1/12-beat grid, with its meter and first tempo."""

    notes: tuple[Note, ...]
    meter: Meter
    tempo_bpm: float
    warnings: tuple[str, ...] = ()


class MidiFileError(ValueError):
    """A music file that cannot be used, with the reason in a musician's words."""


def time_signature_ticks(numerator: int, denominator: int) -> int:
    """Bar length in grid ticks of a time signature; raises MidiFileError if it has none."""
    name = f"time signature {numerator}/{denominator}"
    if numerator < 1 or denominator < 1:
        raise MidiFileError(f"{name} has no beats")
    if numerator * WHOLE_NOTE_TICKS % denominator:
        raise MidiFileError(
            f"{name} does not fit the grid of {TICKS_PER_BEAT} ticks per quarter note"
        )
    bar_ticks = numerator * WHOLE_NOTE_TICKS // denominator
    if bar_ticks > MAX_BAR_TICKS:
        raise MidiFileError(f"{name} is longer than {MAX_BAR_TICKS // TICKS_PER_BEAT} beats")
    return bar_ticks


def time_signature_of(bar_ticks: int) -> tuple[int, int]:
    """The simplest exact ``(numerator, denominator)`` for a bar of ``bar_ticks`` grid ticks."""
    if not 1 <= bar_ticks <= MAX_BAR_TICKS:
        raise ValueError(f"a bar must last 1..{MAX_BAR_TICKS} ticks, got {bar_ticks}")
    for denominator in (4, 8, 16):
        unit = WHOLE_NOTE_TICKS // denominator
        if bar_ticks % unit == 0:
            return bar_ticks // unit, denominator
    raise ValueError(
        f"a bar of {bar_ticks} ticks has no time signature: it must be a whole number of 16ths"
        f" ({WHOLE_NOTE_TICKS // 16} ticks each)"
    )


def assemble_piece(notes, meter_changes, tempo_bpm: float, warnings) -> Piece:
    """A checked Piece from raw ``(onset, pitch, velocity, duration)`` grid notes of any parser.

    Drops pitches off the piano (counted in a warning), makes zero lengths one tick, clamps
    velocity, merges unisons, and refuses pieces with no notes or absurd length.
    """
    warnings = list(warnings)
    kept = [entry for entry in notes if PITCH_LOW <= entry[1] <= PITCH_HIGH]
    if len(kept) < len(notes):
        warnings.append(
            f"{len(notes) - len(kept)} notes outside the piano range "
            f"{PITCH_LOW}..{PITCH_HIGH} were dropped"
        )
    if not kept:
        raise MidiFileError("no notes in the piano range" if notes else "the file has no notes")
    meter = _meter(meter_changes)
    last_end = max(onset + max(duration, 1) for onset, _, _, duration in kept)
    bars = meter.locate(last_end - 1)[0] + 1
    if bars > MAX_BARS:
        raise MidiFileError(f"the music is {bars} bars long; the limit is {MAX_BARS:,} bars")
    merged = merge_unisons(
        Note(onset, pitch, min(max(velocity, 1), 127), max(duration, 1))
        for onset, pitch, velocity, duration in kept
    )
    return Piece(tuple(merged), meter, tempo_bpm, tuple(warnings))


def _meter(changes) -> Meter:
    """Meter from ``(tick, bar_ticks)`` changes in time order; 4/4 until the first.

    The last change on one tick wins; a repeat landing on a bar line changes nothing and is
    dropped, while one inside a bar restarts the bar, as the file says.
    """
    kept: list[tuple[int, int]] = [(0, WHOLE_NOTE_TICKS)]
    for tick, bar_ticks in changes:
        if kept[-1][0] == tick:
            kept.pop()
        if kept:
            start, current = kept[-1]
            if current == bar_ticks and (tick - start) % current == 0:
                continue
        kept.append((tick, bar_ticks))
    return Meter(tuple(kept))


def read_midi(source) -> Piece:
    """The notes, meter and first tempo of a MIDI file (path or bytes), or MidiFileError why not."""
    data, warnings = _check_header(_read_bytes(source))
    midi_file, parse_warnings = _parse(data)
    return _piece(midi_file, warnings + parse_warnings)


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        size = os.stat(source).st_size
        if size > MAX_FILE_BYTES:
            raise MidiFileError(_too_big(size))
        data = Path(source).read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise MidiFileError(_too_big(len(data)))
    return data


def _too_big(size: int) -> str:
    limit = MAX_FILE_BYTES // 2**20
    return f"the file is {size / 2**20:.1f} MB; MIDI files over {limit} MB are refused"


def _check_header(data: bytes) -> tuple[bytes, list[str]]:
    """Refuse what mido would misread: wrong magic, short header, type 2, SMPTE time.

    Returns the bytes for mido (alien chunks left out) and warnings.
    """
    if not data:
        raise MidiFileError("the file is empty")
    if not data.startswith(b"MThd"):
        raise MidiFileError(f"not a MIDI file (it starts with {data[:4]!r}, not b'MThd')")
    if len(data) < 14:
        raise MidiFileError("the MIDI file is truncated: its header is incomplete")
    header_length, file_type, track_count, division = struct.unpack(">LHHH", data[4:14])
    if header_length < 6:
        raise MidiFileError(f"the MIDI header is {header_length} bytes long; it needs 6")
    if file_type == 2:
        raise MidiFileError(
            "MIDI file type 2 (independent patterns) is not supported; use type 0 or 1"
        )
    if file_type > 2:
        raise MidiFileError(f"unknown MIDI file type {file_type}")
    if division & 0x8000:
        raise MidiFileError(
            "the file counts time in SMPTE frames, not beats; re-save it with beats"
        )
    if division == 0:
        raise MidiFileError("the file has 0 ticks per beat")
    return _check_chunks(data, 8 + header_length, track_count)


def _check_chunks(data: bytes, offset: int, track_count: int) -> tuple[bytes, list[str]]:
    """Walk the chunks by their stated lengths, so a cut or mis-sized one is named.

    Alien chunks (a printable name other than MTrk) are left out, as the standard says
    readers must do; mido would refuse them.
    """
    kept = [data[:offset]]
    aliens = []
    track = 0
    while track < track_count:
        if offset + 8 > len(data):
            raise MidiFileError(
                f"the MIDI file is truncated: the header promises {track_count} tracks, "
                f"it holds {track}"
            )
        name, length = struct.unpack(">4sL", data[offset:offset + 8])
        is_track = name == b"MTrk"
        if not is_track and not _CHUNK_NAME.fullmatch(name):
            raise MidiFileError(
                f"the MIDI file is corrupt: track {track + 1} starts with {name!r}, not b'MTrk' "
                "(the length of the chunk before it is wrong)"
            )
        end = offset + 8 + length
        if end > len(data):
            chunk = f"track {track + 1}" if is_track else f"chunk {name!r}"
            raise MidiFileError(
                f"the MIDI file is truncated: {chunk} should have {length} bytes, "
                f"it has {len(data) - offset - 8}"
            )
        if is_track:
            track += 1
            if _HIGH_BYTE_RUN.search(data, offset + 8, end):
                raise MidiFileError(
                    f"the MIDI file is corrupt: track {track} holds more than "
                    f"{MAX_HIGH_BYTE_RUN} bytes above 127 in a row"
                )
            kept.append(data[offset:end])
        else:
            aliens.append(name.decode("ascii"))
        offset = end
    warnings = [f"unknown chunks were ignored: {', '.join(aliens)}"] if aliens else []
    return b"".join(kept), warnings


def _parse(data: bytes) -> tuple[mido.MidiFile, list[str]]:
    """Parse with mido; data bytes above 127 (sloppy writers) are clipped, with a warning."""
    try:
        return mido.MidiFile(file=io.BytesIO(data)), []
    except OSError as error:
        if "data byte must be in range" not in str(error):
            raise MidiFileError(_reason(error)) from error
    except Exception as error:  # mido raises many types on bad data; each becomes a reason
        raise MidiFileError(_reason(error)) from error
    try:
        midi_file = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as error:
        raise MidiFileError(_reason(error)) from error
    return midi_file, ["some data bytes above 127 were clipped to 127"]


def _reason(error: Exception) -> str:
    if isinstance(error, EOFError):
        return "the MIDI file is corrupt: a track ends in the middle of a message"
    return f"the MIDI file is corrupt ({type(error).__name__}: {error})"


def _timeline(midi_file: mido.MidiFile) -> tuple[list[tuple[int, mido.Message]], int]:
    """All messages by absolute file tick (stable across tracks), and the last tick."""
    events = []
    last_tick = 0
    for track_index, track in enumerate(midi_file.tracks):
        tick = 0
        for order, message in enumerate(track):
            if message.time > MAX_DELTA_TICKS:
                raise MidiFileError(
                    f"the MIDI file is corrupt: track {track_index + 1} has a delta time over "
                    f"{MAX_DELTA_TICKS:,} ticks, the most a MIDI file can hold"
                )
            tick += message.time
            events.append((tick, track_index, order, message))
        last_tick = max(last_tick, tick)
    events.sort(key=lambda event: event[:3])
    return [(tick, message) for tick, _, _, message in events], last_tick


class _NoteCollector:
    """Pairs note-ons with note-offs per (channel, pitch), first in first out, with sustain."""

    def __init__(self) -> None:
        self.open: dict[tuple[int, int], deque] = defaultdict(deque)
        self.pedal_down: set[int] = set()
        self.sustained: dict[tuple[int, int], list] = defaultdict(list)
        # (onset, pitch, velocity, end) in file ticks
        self.notes: list[tuple[int, int, int, int]] = []

    def note_on(self, tick: int, channel: int, pitch: int, velocity: int) -> None:
        self._release_sustained((channel, pitch), tick)  # a re-struck key damps its old sound
        self.open[(channel, pitch)].append((tick, velocity))

    def note_off(self, tick: int, channel: int, pitch: int) -> None:
        queue = self.open.get((channel, pitch))
        if not queue:
            return  # a stray note-off ends nothing
        onset, velocity = queue.popleft()
        if channel in self.pedal_down:
            self.sustained[(channel, pitch)].append((onset, velocity))
        else:
            self.notes.append((onset, pitch, velocity, tick))

    def pedal(self, tick: int, channel: int, value: int) -> None:
        if value >= 64:
            self.pedal_down.add(channel)
            return
        self.pedal_down.discard(channel)
        for key in [key for key in self.sustained if key[0] == channel]:
            self._release_sustained(key, tick)

    def _release_sustained(self, key: tuple[int, int], tick: int) -> None:
        for onset, velocity in self.sustained.pop(key, ()):
            self.notes.append((onset, key[1], velocity, tick))

    def finish(self, last_tick: int) -> int:
        """End what still sounds at the last tick; returns how many notes had no note-off."""
        for key in list(self.sustained):
            self._release_sustained(key, last_tick)
        unfinished = 0
        for (_, pitch), queue in self.open.items():
            for onset, velocity in queue:
                self.notes.append((onset, pitch, velocity, last_tick))
                unfinished += 1
        self.open.clear()
        return unfinished


def _piece(midi_file: mido.MidiFile, warnings: list[str]) -> Piece:
    ticks_per_beat = midi_file.ticks_per_beat
    events, last_tick = _timeline(midi_file)
    collector = _NoteCollector()
    meter_changes: list[tuple[int, int]] = []
    tempo_bpm = None
    drum_notes = 0
    for tick, message in events:
        kind = message.type
        if kind in ("note_on", "note_off"):
            if message.channel == DRUM_CHANNEL:
                drum_notes += kind == "note_on" and message.velocity > 0
            elif kind == "note_on" and message.velocity > 0:
                collector.note_on(tick, message.channel, message.note, message.velocity)
            else:
                collector.note_off(tick, message.channel, message.note)
        elif kind == "control_change" and message.control == SUSTAIN_CONTROL:
            collector.pedal(tick, message.channel, message.value)
        elif kind == "time_signature":
            bar_ticks = time_signature_ticks(message.numerator, message.denominator)
            meter_changes.append((_grid(tick, ticks_per_beat), bar_ticks))
        elif kind == "set_tempo" and tempo_bpm is None:
            tempo_bpm = _tempo_bpm(message.tempo, warnings)
    unfinished = collector.finish(last_tick)
    if unfinished:
        warnings.append(f"{unfinished} notes had no note-off; they end at the end of the file")
    if not collector.notes and drum_notes:
        raise MidiFileError("no notes outside the drum channel (channel 10)")
    notes = [
        (_grid(onset, ticks_per_beat), pitch, velocity,
         _grid(end, ticks_per_beat) - _grid(onset, ticks_per_beat))
        for onset, pitch, velocity, end in collector.notes
    ]
    return assemble_piece(notes, meter_changes, tempo_bpm or DEFAULT_TEMPO_BPM, warnings)


def _grid(tick: int, ticks_per_beat: int) -> int:
    """File tick to grid tick, rounding halves up, in integers so huge ticks stay exact."""
    return (2 * tick * TICKS_PER_BEAT + ticks_per_beat) // (2 * ticks_per_beat)


def _tempo_bpm(microseconds_per_beat: int, warnings: list[str]) -> float:
    if microseconds_per_beat == 0:
        warnings.append(
            f"the file's tempo is 0 microseconds per beat; using {DEFAULT_TEMPO_BPM:g} bpm"
        )
        return DEFAULT_TEMPO_BPM
    return mido.tempo2bpm(microseconds_per_beat)


def write_midi(path, tracks, meter: Meter, tempo_bpm: float, ticks_per_beat: int = 480) -> None:
    """Write ``(name, notes, channel)`` tracks as a type-1 MIDI file, atomically, after a
    tempo and meter track."""
    if ticks_per_beat <= 0 or ticks_per_beat % TICKS_PER_BEAT:
        raise ValueError(
            f"ticks_per_beat must be a positive multiple of {TICKS_PER_BEAT}, got {ticks_per_beat}"
        )
    if not 0 < tempo_bpm or not 1 <= mido.bpm2tempo(tempo_bpm) <= 0xFFFFFF:
        raise ValueError(f"a MIDI file cannot hold a tempo of {tempo_bpm} bpm")
    scale = ticks_per_beat // TICKS_PER_BEAT
    midi_file = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    midi_file.tracks.append(_conductor_track(meter, tempo_bpm, scale))
    for name, notes, channel in tracks:
        midi_file.tracks.append(_note_track(name, notes, channel, scale))
    save_atomically(midi_file, Path(path))


def _conductor_track(meter: Meter, tempo_bpm: float, scale: int) -> mido.MidiTrack:
    timed = [(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm)))]
    for start, bar_ticks in meter.changes:
        numerator, denominator = time_signature_of(bar_ticks)
        timed.append((start * scale, mido.MetaMessage(
            "time_signature", numerator=numerator, denominator=denominator)))
    return _track(timed)


def _note_track(name: str, notes, channel: int, scale: int) -> mido.MidiTrack:
    if not 0 <= channel <= 15:
        raise ValueError(f"MIDI channel must be in 0..15, got {channel}")
    # Note-offs sort before note-ons at one tick: a repeated pitch is released, then restruck.
    timed = []
    for note in notes:
        timed.append(((note.onset * scale, 1, note.pitch), mido.Message(
            "note_on", channel=channel, note=note.pitch, velocity=note.velocity)))
        timed.append(((note.end * scale, 0, note.pitch), mido.Message(
            "note_off", channel=channel, note=note.pitch, velocity=0)))
    timed.sort(key=lambda entry: entry[0])
    named = [(0, mido.MetaMessage("track_name", name=name))]
    return _track(named + [(key[0], message) for key, message in timed])


def _track(timed) -> mido.MidiTrack:
    """A track from ``(absolute tick, message)`` pairs in time order, closed by end_of_track."""
    track = mido.MidiTrack()
    previous = 0
    for tick, message in timed:
        track.append(message.copy(time=tick - previous))
        previous = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def save_atomically(midi_file: mido.MidiFile, path: Path) -> None:
    """Save ``midi_file`` so that readers of ``path`` never see half a file."""
    write_atomically(path, lambda stream: midi_file.save(file=stream))
