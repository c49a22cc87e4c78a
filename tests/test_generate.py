"""Offline continuation: the answer follows the call's bars and key."""

import pytest

from livegen.music import codec
from livegen.model.generate import continue_notes
from livegen.music.key import Key
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from tests.helpers import Recorder, phrase, random_weights


def test_answer_fills_the_asked_bars_after_the_call_and_nothing_hangs():
    call = phrase(bars=2)
    model = StepModel(random_weights(seed=4))
    result = continue_notes(model, "as-is", call, codec.Meter(), 4, Sampler(SamplingConfig(), seed=1))
    last_call_onset = max(n.onset for n in call)
    assert result.notes, "a random model under the grammar still plays notes"
    assert all(n.onset >= last_call_onset for n in result.notes)
    assert all(n.onset < (result.last_bar + 1) * 48 for n in result.notes)
    assert result.last_bar == 1 + 4
    assert all(n.duration <= 96 for n in result.notes)


@pytest.mark.parametrize("tonic, minor", [(64, False), (62, True), (66, False), (56, True)])
def test_key_locked_canonical_answer_comes_back_in_the_calls_key(tonic, minor):
    call = phrase(tonic_pitch=tonic, minor=minor, bars=2)
    call_key = Key(tonic % 12, "minor" if minor else "major")
    shift = call_key.to_canonical()
    canonical_scale = frozenset((pc + shift) % 12 for pc in call_key.scale())
    sampler = Sampler(SamplingConfig(scale=canonical_scale), seed=2)
    result = continue_notes(StepModel(random_weights(seed=5)), "canonical", call, codec.Meter(), 6, sampler)
    assert result.key == call_key
    assert len(result.notes) > 10
    assert all(n.pitch % 12 in call_key.scale() for n in result.notes)


def test_zero_bars_is_refused():
    with pytest.raises(ValueError, match="at least 1, got 0"):
        continue_notes(StepModel(random_weights()), "as-is", phrase(), codec.Meter(), 0, Sampler())


@pytest.mark.parametrize("tonic, minor", [(62, True), (62, False), (57, True), (67, False)])
def test_a_mode_telling_preset_opens_every_bar_it_hears_and_plays_with_the_calls_mode(tonic, minor):
    call = phrase(tonic_pitch=tonic, minor=minor, bars=2)
    model = Recorder(random_weights(seed=6, vocab=codec.MODAL_VOCAB_SIZE))
    result = continue_notes(model, "canonical+mode", call, codec.Meter(), 6,
                            Sampler(SamplingConfig(), seed=3))
    assert result.key == Key(tonic % 12, "minor" if minor else "major")
    bars = [token for token in model.heard if token in codec.BARS]
    # random weights favour either bar token; only the call's own may be fed or sampled
    assert set(bars) == {codec.BAR_MINOR if minor else codec.BAR}
    assert len(bars) == result.last_bar + 1
    assert result.notes
