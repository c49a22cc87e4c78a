"""An answer never plays back more than ECHO_LIMIT of its call's pitches in a row: offline and live."""

import pytest

from livegen.evaluate.metrics import longest_common_run
from livegen.live.engine import Companion, CompanionConfig
from livegen.model.echo import ECHO_LIMIT, EchoGuard
from livegen.model.generate import continue_notes
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.music import codec
from tests.fakes import FakeSink
from tests.helpers import random_weights
from tests.playing import play_call, run_until

SCALE_CALL = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76]  # ten different pitches: a parrot's run is unambiguous


class Parrot(StepModel):
    """A random model that wants, above all, the pitch that follows the last one it heard in ``call``
    (the call's first after any other): left alone, it plays the call back, round and round."""

    def __init__(self, call, seed=11):
        super().__init__(random_weights(seed=seed))
        self.call = list(call)
        self.last_pitch = None

    def _bias(self, token, logits):
        if codec.PITCH_BASE <= token < codec.VELOCITY_BASE:
            self.last_pitch = token - codec.PITCH_BASE + codec.PITCH_LOW
        following = self.call.index(self.last_pitch) + 1 if self.last_pitch in self.call else 0
        logits[codec.pitch_token(self.call[following % len(self.call)])] += 30.0
        return logits

    def feed(self, tokens, state, voices=None):
        logits = super().feed(tokens, state, voices)
        for token in tokens:
            if codec.PITCH_BASE <= token < codec.VELOCITY_BASE:
                self.last_pitch = int(token) - codec.PITCH_BASE + codec.PITCH_LOW
        return self._bias(-1, logits)

    def step(self, token, state, voices=()):
        return self._bias(int(token), super().step(token, state, voices))


def pitches(notes):
    return [note.pitch for note in sorted(notes, key=lambda note: (note.onset, note.pitch))]


def test_the_guard_bars_the_calls_next_pitch_once_the_answer_has_matched_limit_of_them():
    guard = EchoGuard([60, 62, 64, 65, 60, 62, 64, 70], limit=3)
    for pitch in (60, 62):
        guard.hear(pitch)
        assert not guard.barred.size
    guard.hear(64)  # 60 62 64: three of the call's in a row, found twice in it
    assert guard.barred.tolist() == [65, 70]
    guard.hear(66)  # not the call's: every run ends
    assert not guard.barred.size
    for pitch in (62, 64):
        guard.hear(pitch)
    assert not guard.barred.size, "62 64 is two of the call's in a row, not three"


def test_the_guard_refuses_a_limit_below_one():
    with pytest.raises(ValueError, match="at least one"):
        EchoGuard([60], limit=0)


def test_a_parrot_left_alone_would_play_the_call_back():
    """The control: the same parrot and sampler, drawing without the guard, echoes far past the limit."""
    model = Parrot(SCALE_CALL)
    sampler = Sampler(SamplingConfig(), seed=0)
    call = [codec.Note(12 * index, pitch, 80, 12) for index, pitch in enumerate(SCALE_CALL)]
    tokens = codec.encode(call, codec.Meter())
    cursor = codec.Cursor(codec.Meter())
    for token in tokens:
        cursor.advance(token)
    state = model.initial_state()
    logits = model.feed(tokens, state)
    played = []
    while len(played) < 30:
        token = sampler.choose(logits, cursor)
        note = cursor.advance(token)
        if note is not None:
            played.append(note)
        logits = model.step(token, state)
    assert longest_common_run(pitches(played), SCALE_CALL) > ECHO_LIMIT


def test_an_offline_answer_plays_the_call_back_at_most_echo_limit_pitches_in_a_row():
    call = [codec.Note(12 * index, pitch, 80, 12) for index, pitch in enumerate(SCALE_CALL)]
    answer = continue_notes(Parrot(SCALE_CALL), "as-is", call, codec.Meter(), 8, Sampler(SamplingConfig(), seed=0))
    played = pitches(answer.notes)
    assert len(played) > 30
    assert longest_common_run(played, SCALE_CALL) == ECHO_LIMIT, "the parrot runs up to the limit, and no further"


def test_a_live_answer_plays_the_call_back_at_most_echo_limit_pitches_in_a_row():
    sink = FakeSink()
    companion = Companion(Parrot(SCALE_CALL), Sampler(SamplingConfig(), seed=0), sink,
                          CompanionConfig(answer_bars=8, key_mode="as-is"))
    now = play_call(companion, 0.0, SCALE_CALL)
    run_until(companion, now, now + 20.0)
    assert companion.answers_started == 1
    played = [note.pitch for note in sorted(sink.notes(), key=lambda note: (round(note.start, 4), note.pitch))]
    assert len(played) > 30
    assert longest_common_run(played, SCALE_CALL) == ECHO_LIMIT, "the parrot runs up to the limit, and no further"
