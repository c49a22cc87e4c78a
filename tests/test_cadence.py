"""An answer closes: its last bar is one chord on the call's tonic, the tonic in the bass, held to the end."""

import numpy as np
import pytest

from livegen.model.cadence import Cadence
from livegen.model.generate import continue_notes
from livegen.model.runtime import StepModel
from livegen.model.sampling import GrammarMask, Sampler, SamplingConfig
from livegen.music import codec
from livegen.music.key import Key
from tests.helpers import random_weights
from tests.playing import G_MAJOR_CALL, make, play_call, run_until

BAR = 48  # 4/4
TRIADS = {Key(3, "major"): {3, 7, 10}, Key(1, "minor"): {1, 4, 8}, Key(7, "major"): {7, 11, 2}}


def scale_call(key: Key) -> list[codec.Note]:
    """Two bars of quarters up and down the key's scale, ending on its tonic."""
    steps = (0, 2, 4, 5, 7, 5, 4, 0) if key.mode == "major" else (0, 2, 3, 5, 7, 5, 3, 0)
    return [codec.Note(12 * index, 60 + key.tonic + step, 80, 12) for index, step in enumerate(steps)]


def cursor_at(tokens) -> codec.Cursor:
    cursor = codec.Cursor(codec.Meter())
    for token in tokens:
        cursor.advance(token)
    return cursor


def assert_closes(notes, end: int, key: Key):
    """In the bar the answer ends in, one onset: the tonic lowest, every note on the tonic triad and
    held to ``end`` (ticks; the codec's next length past it, where the onset is off the downbeat)."""
    chord = [note for note in notes if note.onset >= (end - 1) // BAR * BAR]
    assert len({note.onset for note in chord}) == 1, f"the last bar strikes more than once: {chord}"
    assert min(chord, key=lambda note: note.pitch).pitch % 12 == key.tonic, chord
    assert {note.pitch % 12 for note in chord} <= TRIADS[key], chord
    assert all(0 <= note.onset + note.duration - end < 6 for note in chord), chord


@pytest.mark.parametrize("key", list(TRIADS))
@pytest.mark.parametrize("key_mode", ["canonical+mode", "canonical", "as-is"])
def test_an_offline_answer_ends_on_a_held_tonic_chord_in_the_calls_key(key, key_mode):
    model = StepModel(random_weights(seed=11, vocab=codec.MODAL_VOCAB_SIZE if key_mode == "canonical+mode" else codec.VOCAB_SIZE))
    for seed in range(4):
        answer = continue_notes(model, key_mode, scale_call(key), codec.Meter(), 4, Sampler(SamplingConfig(), seed=seed))
        assert answer.key == (key if key_mode != "as-is" else None)
        assert_closes(answer.notes, (answer.last_bar + 1) * BAR, key)
        assert any(note.onset < answer.last_bar * BAR for note in answer.notes), "the bars before it are the model's"


def test_without_the_cadence_the_last_bar_is_the_models_own():
    """The control: the same model and draws, told not to close, strike the last bar more than once."""
    model = StepModel(random_weights(seed=11))
    onsets_in_last_bar = []
    for seed in range(4):
        answer = continue_notes(model, "canonical", scale_call(Key(3, "major")), codec.Meter(), 4,
                                Sampler(SamplingConfig(cadence=False), seed=seed))
        onsets_in_last_bar.append(len({note.onset for note in answer.notes if note.onset >= answer.last_bar * BAR}))
    assert max(onsets_in_last_bar) > 1, onsets_in_last_bar


def test_the_cadence_leaves_an_answers_other_bars_and_a_one_bar_answer_alone():
    mask = GrammarMask(SamplingConfig())
    cadence = Cadence.of(Key(3, "major"), 0, start=BAR, end=3 * BAR)  # bars 1 and 2; it closes in bar 2
    in_first = cursor_at([codec.BAR, codec.BAR])  # bar 1 opened
    allowed = mask.allowed(in_first)
    assert np.array_equal(cadence.allowed(in_first, allowed), allowed)
    one_bar = Cadence.of(Key(3, "major"), 0, start=BAR, end=2 * BAR)
    assert np.array_equal(one_bar.allowed(in_first, allowed), allowed)


def test_in_the_last_bar_the_cadence_says_downbeat_tonic_triad_and_held_to_the_end():
    mask = GrammarMask(SamplingConfig())
    cadence = Cadence.of(Key(1, "minor"), 0, start=BAR, end=2 * BAR + 36)  # it ends on beat 4 of bar 2
    cursor = cursor_at([codec.BAR, codec.BAR, codec.BAR])  # bar 2 opened
    assert cadence.allowed(cursor, mask.allowed(cursor)).nonzero()[0].tolist() == [codec.position_token(0)]
    cursor.advance(codec.position_token(0))
    bass = cadence.allowed(cursor, mask.allowed(cursor)).nonzero()[0]
    assert {int(token) - codec.PITCH_BASE + codec.PITCH_LOW for token in bass} == {
        pitch for pitch in range(codec.PITCH_LOW, codec.PITCH_HIGH + 1) if pitch % 12 == 1}
    cursor.advance(codec.pitch_token(49))
    cursor.advance(codec.velocity_token(64))
    assert cadence.allowed(cursor, mask.allowed(cursor)).nonzero()[0].tolist() == [codec.duration_token(36)]
    cursor.advance(codec.duration_token(36))
    above = cadence.allowed(cursor, mask.allowed(cursor))
    pitches = {int(token) - codec.PITCH_BASE + codec.PITCH_LOW for token in above.nonzero()[0]
               if codec.PITCH_BASE <= token < codec.VELOCITY_BASE}
    assert pitches and {pitch % 12 for pitch in pitches} == {1, 4, 8} and min(pitches) > 49
    assert above[codec.BAR] and above[codec.position_token(24)]
    assert cadence.settle(cursor, codec.position_token(24)) == codec.BAR, "a later onset ends the answer on its chord"
    assert cadence.settle(cursor, codec.pitch_token(56)) == codec.pitch_token(56)


def test_a_cadence_that_nothing_in_range_can_play_leaves_the_grammar_its_choice():
    mask = GrammarMask(SamplingConfig(pitch_low=62, pitch_high=72))
    cadence = Cadence.of(Key(1, "minor"), 0, start=BAR, end=3 * BAR)
    cursor = cursor_at([codec.BAR, codec.BAR, codec.BAR, codec.position_token(0)])
    allowed = mask.allowed(cursor)  # C#4 and C#5 lie outside 62-72
    assert allowed.any() and np.array_equal(cadence.allowed(cursor, allowed), allowed)


def test_a_live_answer_closes_on_the_calls_tonic_chord():
    companion, sink, _ = make()
    now = play_call(companion, 0.0, G_MAJOR_CALL)
    run_until(companion, now, now + 12.0)
    assert companion.answers_started == 1
    plan = companion.answered[-1]
    assert plan.key == Key(7, "major") and plan.bars == 2
    end = plan.start + plan.bars * 2.0  # 4/4 at 120 bpm: two seconds a bar
    ticks = [codec.Note(round(note.start / 0.5 * 12), note.pitch, note.velocity, round((note.end - note.start) / 0.5 * 12))
             for note in sink.notes()]
    assert_closes(ticks, round(end / 0.5 * 12), Key(7, "major"))
