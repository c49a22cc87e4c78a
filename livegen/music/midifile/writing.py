"""Writing notes as a standard type-1 MIDI file, atomically. Uses mido only."""

from __future__ import annotations

from pathlib import Path

import mido

from livegen.atomic import write_atomically
from livegen.music.meter import Meter
from livegen.music.notes import TICKS_PER_BEAT

from .time_signature import time_signature_of


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
