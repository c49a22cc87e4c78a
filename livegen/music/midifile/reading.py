"""Reading a standard MIDI file into a :class:`Piece` on the codec's tick grid. Uses mido only."""

from __future__ import annotations

import io

import mido

from livegen.music.notes import TICKS_PER_BEAT

from .checks import checked_bytes
from .collector import NoteCollector
from .errors import MidiFileError
from .piece import Piece, assemble_piece
from .time_signature import time_signature_ticks

MAX_DELTA_TICKS = 0x0FFFFFFF  # the largest delta time a MIDI file can hold (a 4-byte number)
DEFAULT_TEMPO_BPM = 120.0
DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
SUSTAIN_CONTROL = 64


def read_midi(source) -> Piece:
    """The notes, meter and first tempo of a MIDI file (path or bytes), or MidiFileError why not."""
    data, warnings = checked_bytes(source)
    midi_file, parse_warnings = _parse(data)
    return _piece(midi_file, warnings + parse_warnings)


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


def _piece(midi_file: mido.MidiFile, warnings: list[str]) -> Piece:
    ticks_per_beat = midi_file.ticks_per_beat
    events, last_tick = _timeline(midi_file)
    collector = NoteCollector()
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
