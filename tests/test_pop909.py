"""Reading POP909 as it is: beats and bar lines from its beat file, tracks apart, notes on the grid; odd
bars, a pickup and a missing track reported with their reasons."""

from pathlib import Path

import mido
import pytest

from livegen.music.notes import TICKS_PER_BEAT
from livegen.training.pop909 import SongError, read_song

POP909 = Path(__file__).resolve().parents[2] / "shared" / "data" / "pop909"
BEAT = 0.6  # seconds: 100 bpm, played a little off the tempo the file says


def write_song(folder: Path, beat_flags, tracks=("MELODY", "BRIDGE", "PIANO"), offset=0.055):
    """A song like POP909's: a type-1 file at 120 bpm in MIDI time, its beats at BEAT seconds from ``offset``."""
    folder.mkdir(parents=True)
    beats = [offset + index * BEAT for index in range(len(beat_flags))]
    (folder / "beat_midi.txt").write_text("".join(f"{at} 1.0 {flag}\n" for at, flag in zip(beats, beat_flags)))
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000)]))
    seconds_to_ticks = 480 / 0.5
    for number, name in enumerate(tracks):
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        events = []
        for index, at in enumerate(beats):  # a note on every beat, a hair late, and one a triplet after it
            for step, (start, length) in enumerate(((at + 0.004, BEAT / 2), (at + BEAT / 3 - 0.003, BEAT / 3))):
                pitch = 60 + 12 * (number - 1) + index % 5 + 4 * step
                events += [(round(start * seconds_to_ticks), mido.Message("note_on", note=pitch, velocity=40 + number * 30)),
                           (round((start + length) * seconds_to_ticks), mido.Message("note_off", note=pitch))]
        last = 0
        for tick, message in sorted(events, key=lambda event: (event[0], event[1].type == "note_on")):
            track.append(message.copy(time=tick - last))
            last = tick
        midi.tracks.append(track)
    midi.save(folder / f"{folder.name}.mid")


def test_notes_land_on_the_grid_of_the_beats_played_with_the_tracks_apart(tmp_path):
    write_song(tmp_path / "001", [1, 0, 0, 0] * 6)
    reading = read_song(tmp_path / "001")
    assert reading.left_out == [] and len(reading.runs) == 1
    run = reading.runs[0]
    assert run.bars == 6 and set(run.tracks) == {"MELODY", "BRIDGE", "PIANO"}
    melody = run.tracks["MELODY"]
    assert [note.onset for note in melody[:4]] == [0, 4, TICKS_PER_BEAT, TICKS_PER_BEAT + 4]  # beat, triplet, ...
    assert melody[0].duration == 6 and melody[1].duration == 4
    assert {note.velocity for note in run.tracks["PIANO"]} == {100} and {note.velocity for note in melody} == {40}
    assert reading.moved_past_a_64th == 0 and max(reading.shift_beats) < 0.01


def test_a_pickup_and_bars_of_other_lengths_are_left_out_with_their_reasons(tmp_path):
    flags = [0, 0] + [1, 0, 0, 0] * 5 + [1, 0] + [1, 0, 0, 0] * 4  # a pickup, five bars, a 2-beat bar, four bars
    write_song(tmp_path / "002", flags)
    reading = read_song(tmp_path / "002")
    assert [(run.first_bar, run.bars) for run in reading.runs] == [(0, 5), (6, 4)]
    assert "a pickup of 2 beats before the first bar line" in reading.left_out
    assert "1 bar(s) of other lengths ([2] beats)" in reading.left_out
    assert reading.runs[1].tracks["PIANO"][0].onset == 0, "a run's ticks count from its own first bar line"


def test_a_song_without_its_melody_is_refused_with_the_reason(tmp_path):
    write_song(tmp_path / "003", [1, 0, 0, 0] * 4, tracks=("BRIDGE", "PIANO"))
    with pytest.raises(SongError, match="003: no MELODY track"):
        read_song(tmp_path / "003")


def test_the_first_pop909_song_reads_whole():
    assert POP909.is_dir(), f"the POP909 songs belong in {POP909} (the project's shared folder, beside the repository)"
    reading = read_song(POP909 / "001")
    assert reading.left_out == [] and sum(run.bars for run in reading.runs) == 73
    assert {name: len(notes) for name, notes in reading.runs[0].tracks.items()} == {
        "MELODY": 264, "BRIDGE": 307, "PIANO": 985}
