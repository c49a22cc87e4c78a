"""MIDI file reading and writing: real files made with mido, corrupt ones made by hand."""

import io
import struct

import mido
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livegen.music.codec import MAX_BAR_TICKS, Meter, Note, merge_unisons
from livegen.music.midifile import (
    MAX_BARS,
    MAX_FILE_BYTES,
    MidiFileError,
    Piece,
    read_midi,
    time_signature_of,
    time_signature_ticks,
    write_midi,
)


def midi_bytes(*tracks, ticks_per_beat=480, file_type=1):
    """A MIDI file's bytes from tracks given as lists of mido messages with delta times."""
    midi_file = mido.MidiFile(type=file_type, ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        midi_file.tracks.append(mido.MidiTrack(messages))
    buffer = io.BytesIO()
    midi_file.save(file=buffer)
    return buffer.getvalue()


def on(pitch, time=0, velocity=100, channel=0):
    return mido.Message("note_on", note=pitch, velocity=velocity, time=time, channel=channel)


def off(pitch, time=0, channel=0):
    return mido.Message("note_off", note=pitch, velocity=0, time=time, channel=channel)


def time_signature(numerator, denominator, time=0):
    return mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator,
                            time=time)


def pedal(value, time=0, channel=0):
    return mido.Message("control_change", control=64, value=value, time=time, channel=channel)


SIMPLE = midi_bytes([on(60), off(60, 480)])


def test_reads_notes_on_the_grid_from_merged_tracks():
    data = midi_bytes(
        [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90)), time_signature(3, 4)],
        [on(60), off(60, 240), on(62, 0, 80), off(62, 120)],
        [on(48, 480, 70), off(48, 960)],
    )
    piece = read_midi(data)
    assert piece.notes == (Note(0, 60, 100, 6), Note(6, 62, 80, 3), Note(12, 48, 70, 24))
    assert piece.meter == Meter(((0, 36),))
    assert piece.tempo_bpm == pytest.approx(90)
    assert piece.warnings == ()


def test_piece_is_frozen():
    piece = Piece((Note(0, 60, 90, 12),), Meter(), 120.0)
    with pytest.raises(AttributeError):
        piece.tempo_bpm = 90


def test_reads_from_a_path_and_defaults_to_120_bpm_in_4_4(tmp_path):
    path = tmp_path / "simple.mid"
    path.write_bytes(SIMPLE)
    piece = read_midi(path)
    assert piece == Piece((Note(0, 60, 100, 12),), Meter(), 120.0)


def test_ticks_round_to_the_nearest_grid_tick_and_zero_lengths_become_one():
    # 96 file ticks per beat: 8 per grid tick; 4 rounds up, 3 rounds down.
    data = midi_bytes([on(60, 4), off(60, 3), on(64, 1), off(64, 0)], ticks_per_beat=96)
    assert read_midi(data).notes == (Note(1, 60, 100, 1), Note(1, 64, 100, 1))


def test_note_on_with_velocity_zero_ends_a_note():
    data = midi_bytes([on(60), on(60, 480, velocity=0)])
    assert read_midi(data).notes == (Note(0, 60, 100, 12),)


def test_repeated_pitch_pairs_first_in_first_out():
    # A second key-down before the first key-up: the first key-up ends the first note.
    data = midi_bytes([on(60), on(60, 240), off(60, 240), off(60, 480)])
    assert read_midi(data).notes == (Note(0, 60, 100, 12), Note(6, 60, 100, 18))


def test_note_without_note_off_ends_at_the_last_tick_with_a_warning():
    end = mido.MetaMessage("end_of_track", time=480)
    data = midi_bytes([on(60), on(64, 480), off(64, 480), end])
    piece = read_midi(data)
    assert piece.notes == (Note(0, 60, 100, 36), Note(12, 64, 100, 12))
    assert any("1 notes had no note-off" in warning for warning in piece.warnings)


def test_sustain_pedal_holds_released_notes_until_the_pedal_lifts():
    data = midi_bytes([
        pedal(127), on(60), off(60, 240),
        on(64, 0), off(64, 240),
        pedal(0, 480),
        on(67), off(67, 240),
    ])
    assert read_midi(data).notes == (
        Note(0, 60, 100, 24), Note(6, 64, 100, 18), Note(24, 67, 100, 6),
    )


def test_restruck_key_under_the_pedal_ends_the_held_note():
    data = midi_bytes([pedal(127), on(60), off(60, 120), on(60, 360), off(60, 120), pedal(0, 480)])
    assert read_midi(data).notes == (Note(0, 60, 100, 12), Note(12, 60, 100, 15))


def test_pedal_on_another_channel_does_not_hold_notes():
    data = midi_bytes([pedal(127, channel=1), on(60), off(60, 240)])
    assert read_midi(data).notes == (Note(0, 60, 100, 6),)


def test_drum_channel_is_dropped():
    data = midi_bytes([on(36, channel=9), off(36, 480, channel=9), on(60), off(60, 480)])
    assert read_midi(data).notes == (Note(12, 60, 100, 12),)


def test_drums_only_file_is_refused_saying_so():
    data = midi_bytes([on(36, channel=9), off(36, 480, channel=9)])
    with pytest.raises(MidiFileError, match="no notes outside the drum channel"):
        read_midi(data)


def test_notes_off_the_piano_are_dropped_and_counted():
    data = midi_bytes([on(10), on(60), on(120), off(10, 480), off(60), off(120)])
    piece = read_midi(data)
    assert piece.notes == (Note(0, 60, 100, 12),)
    assert "2 notes outside the piano range 21..108 were dropped" in piece.warnings


def test_unisons_across_channels_are_merged_keeping_the_longest():
    data = midi_bytes([on(60), on(60, channel=1), off(60, 240), off(60, 240, channel=1)])
    assert read_midi(data).notes == (Note(0, 60, 100, 12),)


def test_time_signature_change_inside_a_bar_starts_a_new_bar():
    data = midi_bytes([time_signature(4, 4), time_signature(7, 8, 720), on(60), off(60, 480)])
    piece = read_midi(data)
    assert piece.meter == Meter(((0, 48), (18, 42)))
    assert piece.meter.locate(18) == (1, 0)


def test_repeated_time_signature_on_a_bar_line_changes_nothing():
    data = midi_bytes([time_signature(3, 4), time_signature(3, 4, 1440), on(60), off(60, 480)])
    assert read_midi(data).meter == Meter(((0, 36),))


def test_first_time_signature_after_the_start_leaves_4_4_before_it():
    data = midi_bytes([time_signature(3, 4, 1920), on(60), off(60, 480)])
    assert read_midi(data).meter == Meter(((0, 48), (48, 36)))


@pytest.mark.parametrize("numerator, denominator, reason", [
    (9, 4, "time signature 9/4 is longer than 8 beats"),
    (1, 64, "time signature 1/64 does not fit the grid"),
    (0, 4, "time signature 0/4 has no beats"),
])
def test_unusable_time_signature_is_refused_by_name(numerator, denominator, reason):
    data = midi_bytes([time_signature(numerator, denominator), on(60), off(60, 480)])
    with pytest.raises(MidiFileError, match=reason):
        read_midi(data)


def test_tempo_zero_falls_back_to_120_with_a_warning():
    data = midi_bytes([mido.MetaMessage("set_tempo", tempo=0), on(60), off(60, 480)])
    piece = read_midi(data)
    assert piece.tempo_bpm == 120.0
    assert any("tempo is 0" in warning for warning in piece.warnings)


def test_data_bytes_above_127_are_clipped_with_a_warning():
    data = bytearray(SIMPLE)
    velocity_at = data.index(bytes([0x90, 60, 100])) + 2
    data[velocity_at] = 0xC8
    piece = read_midi(bytes(data))
    assert piece.notes == (Note(0, 60, 127, 12),)
    assert "some data bytes above 127 were clipped to 127" in piece.warnings


def test_huge_delta_time_is_refused_as_too_long():
    data = midi_bytes([on(60), off(60, 480 * 4 * (MAX_BARS + 1))])
    with pytest.raises(MidiFileError, match="limit is 10,000 bars"):
        read_midi(data)


def test_piece_just_under_the_bar_limit_is_read():
    data = midi_bytes([on(60, 480 * 4 * (MAX_BARS - 1)), off(60, 480)])
    assert read_midi(data).notes == (Note(48 * (MAX_BARS - 1), 60, 100, 12),)


def header(file_type=1, tracks=1, division=480, length=6):
    return b"MThd" + struct.pack(">LHHH", length, file_type, tracks, division)


def track_chunk(body):
    return b"MTrk" + struct.pack(">L", len(body)) + body


NOTE_TRACK = track_chunk(bytes([0, 0x90, 60, 100, 0x83, 0x60, 0x80, 60, 0, 0, 0xFF, 0x2F, 0]))


def test_hand_built_file_is_read():
    # Guards the corrupt-file tests below: the same bytes, unharmed, are a good file.
    assert read_midi(header() + NOTE_TRACK).notes == (Note(0, 60, 100, 12),)


@pytest.mark.parametrize("data, reason", [
    (b"", "the file is empty"),
    (b"hello, this is a text file\n", "not a MIDI file"),
    (header()[:10], "header is incomplete"),
    (header(length=2) + NOTE_TRACK, "header is 2 bytes long"),
    (header(file_type=2) + NOTE_TRACK, "type 2"),
    (header(file_type=7) + NOTE_TRACK, "unknown MIDI file type 7"),
    (header(division=0xE728) + NOTE_TRACK, "SMPTE"),
    (header(division=0) + NOTE_TRACK, "0 ticks per beat"),
    (header(tracks=2) + NOTE_TRACK, "promises 2 tracks, it holds 1"),
    (header() + NOTE_TRACK[:-4], "track 1 should have 13 bytes, it has 9"),
    (header(tracks=2) + NOTE_TRACK[:4] + struct.pack(">L", 10) + NOTE_TRACK[8:] + NOTE_TRACK,
     "track 2 starts with"),
    (header() + track_chunk(bytes([0, 0x90, 60, 100, 0x83])), "ends in the middle of a message"),
    (header() + track_chunk(bytes([0, 60, 100])), "running status"),
    (header() + track_chunk(bytes([0, 0xFF, 0x51, 0, 0, 0xFF, 0x2F, 0])), "corrupt"),
    (header(tracks=0), "the file has no notes"),
])
def test_corrupt_files_are_refused_with_a_reason(data, reason):
    with pytest.raises(MidiFileError, match=reason):
        read_midi(data)


def test_text_file_named_mid_is_not_a_midi_file(tmp_path):
    path = tmp_path / "notes.mid"
    path.write_text("C D E F G\n")
    with pytest.raises(MidiFileError, match="not a MIDI file"):
        read_midi(path)


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.mid"
    with path.open("wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(MidiFileError, match="over 16 MB"):
        read_midi(path)


@pytest.mark.parametrize("bar_ticks, signature", [
    (48, (4, 4)), (36, (3, 4)), (42, (7, 8)), (18, (3, 8)), (30, (5, 8)), (9, (3, 16)),
    (96, (8, 4)),
])
def test_bar_lengths_get_the_simplest_time_signature(bar_ticks, signature):
    assert time_signature_of(bar_ticks) == signature
    assert time_signature_ticks(*signature) == bar_ticks


def test_bar_length_off_the_16th_grid_has_no_time_signature():
    with pytest.raises(ValueError, match="a bar of 4 ticks has no time signature"):
        time_signature_of(4)


def test_written_file_has_tempo_meter_and_named_tracks(tmp_path):
    path = tmp_path / "out.mid"
    notes = [Note(0, 60, 100, 12), Note(12, 60, 90, 12)]
    write_midi(path, [("player", notes, 0), ("model", [Note(6, 72, 50, 3)], 1)],
               Meter(((0, 48), (48, 30))), 100)
    midi_file = mido.MidiFile(path)
    assert midi_file.type == 1 and len(midi_file.tracks) == 3
    conductor = [message.type for message in midi_file.tracks[0]]
    assert conductor == ["set_tempo", "time_signature", "time_signature", "end_of_track"]
    assert midi_file.tracks[1].name == "player" and midi_file.tracks[2].name == "model"
    kinds = [(message.type, message.time) for message in midi_file.tracks[1]][1:]
    # The repeated pitch is released before it is struck again at the same tick.
    assert kinds == [("note_on", 0), ("note_off", 480), ("note_on", 0), ("note_off", 480),
                     ("end_of_track", 0)]
    assert {message.channel for message in midi_file.tracks[2] if not message.is_meta} == {1}
    assert [name for name in path.parent.iterdir()] == [path]


def test_write_refuses_ticks_per_beat_off_the_grid(tmp_path):
    with pytest.raises(ValueError, match="multiple of 12, got 100"):
        write_midi(tmp_path / "x.mid", [], Meter(), 120, ticks_per_beat=100)
    assert not list(tmp_path.iterdir())


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "keep.mid"
    path.write_bytes(SIMPLE)
    with pytest.raises(ValueError, match="a bar of 4 ticks"):
        write_midi(path, [("x", [Note(0, 60, 100, 1)], 0)], Meter(((0, 4),)), 120)
    assert path.read_bytes() == SIMPLE
    assert list(tmp_path.iterdir()) == [path]


@st.composite
def pieces(draw):
    """Notes MIDI can hold unambiguously (no overlapping notes of one pitch) and a meter."""
    notes = []
    for pitch in draw(st.sets(st.integers(21, 108), min_size=1, max_size=6)):
        onset = draw(st.integers(0, 200))
        for _ in range(draw(st.integers(1, 4))):
            duration = draw(st.integers(1, 60))
            notes.append(Note(onset, pitch, draw(st.integers(1, 127)), duration))
            onset += duration + draw(st.integers(0, 30))
    bar_ticks = draw(st.lists(st.sampled_from(range(3, MAX_BAR_TICKS + 1, 3)), min_size=1,
                              max_size=4))
    starts = sorted(draw(st.sets(st.integers(1, 400), min_size=len(bar_ticks) - 1,
                                 max_size=len(bar_ticks) - 1)))
    changes = [(0, bar_ticks[0])]
    for start, ticks in zip(starts, bar_ticks[1:]):
        if ticks != changes[-1][1]:
            changes.append((start, ticks))
    return notes, Meter(tuple(changes))


@settings(max_examples=200, deadline=None)
@given(pieces(), st.sampled_from([96, 480, 960]), st.integers(0, 15).filter(lambda c: c != 9))
def test_write_then_read_gives_the_same_notes_and_meter(tmp_path_factory, piece, ticks_per_beat,
                                                       channel):
    notes, meter = piece
    path = tmp_path_factory.mktemp("round") / "trip.mid"
    write_midi(path, [("part", notes, channel)], meter, 88.0, ticks_per_beat)
    read_back = read_midi(path)
    assert read_back.notes == tuple(merge_unisons(notes))
    assert read_back.meter == meter
    assert read_back.tempo_bpm == pytest.approx(88.0, rel=1e-5)
    assert read_back.warnings == ()
