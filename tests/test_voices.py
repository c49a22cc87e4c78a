"""What a model hears besides the token: voices that hold through an onset, what the last onset struck."""

import numpy as np

from livegen.music import codec, voices


def rows_to_pitches(row):
    sounding = sorted(codec.PITCH_LOW + r for r in row if r < voices.PITCHES)
    struck = sorted(codec.PITCH_LOW + r - voices.PITCHES for r in row if voices.PITCHES <= r < voices.ROWS)
    return sounding, struck


def after_each(notes, meter=codec.Meter.of_beats(4)):
    tokens = codec.encode(notes, meter)
    cursor = codec.Cursor(meter)
    heard = []
    for token in tokens:
        cursor.advance(token)
        heard.append((token, cursor.onset, rows_to_pitches(voices.voices(cursor))))
    return tokens, heard


def test_a_held_bass_sounds_under_every_onset_until_it_ends_and_the_last_onset_is_remembered():
    # A whole-note C3 under a melody of quarters E4 F4 G4 A4, then a new bar: G2 and B4.
    notes = [codec.Note(0, 48, 80, 48), codec.Note(0, 64, 80, 12), codec.Note(12, 65, 80, 12),
             codec.Note(24, 67, 80, 12), codec.Note(36, 69, 80, 12),
             codec.Note(48, 43, 80, 24), codec.Note(48, 71, 80, 24)]
    tokens, heard = after_each(notes)
    at_position = {onset: pitches for token, onset, pitches in heard
                   if codec.POSITION_BASE <= token < codec.PITCH_BASE}
    assert at_position[12] == ([48], [48, 64])  # the bass holds; E4 has ended; the downbeat struck C3 E4
    assert at_position[24] == ([48], [65])
    assert at_position[36] == ([48], [67])
    assert at_position[48] == ([], [69])  # the bass ended on the bar line
    last_token, _, (sounding, struck) = heard[-1]
    assert sounding == [43, 71] and struck == [69]  # what the new onset struck sounds; the last onset before it: A4


def test_reading_a_stream_gives_the_voices_after_every_token_padded():
    notes = [codec.Note(0, 60 + step, 80, 6) for step in range(0, 24, 2)]
    tokens, heard = after_each(notes)
    rows = voices.read(tokens, codec.Cursor(codec.Meter.of_beats(4)))
    assert rows.shape == (len(tokens), voices.WIDTH) and rows.dtype == np.uint8
    for row, (_, _, pitches) in zip(rows, heard):
        assert rows_to_pitches(row) == pitches
        assert list(row[len(pitches[0]) + len(pitches[1]):]) == [voices.PAD] * (voices.WIDTH - sum(map(len, pitches)))


def test_a_dense_cluster_keeps_the_highest_voices_within_the_bound():
    cluster = [codec.Note(0, pitch, 80, 24) for pitch in range(40, 80, 2)]  # 20 notes struck at once
    notes = cluster + [codec.Note(12, 90, 80, 6)]
    tokens, heard = after_each(notes)
    _, _, (sounding, struck) = heard[-1]
    assert len(sounding) == voices.MAX_SOUNDING and sounding[-1] == 90
    assert sounding[0] == 80 - 2 * (voices.MAX_SOUNDING - 1)  # the lowest of those kept
    assert struck == list(range(40, 80, 2))[-voices.MAX_STRUCK:]
