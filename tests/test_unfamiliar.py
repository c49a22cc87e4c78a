"""Made-up calls unlike any training piece: every key, three meters, melodies alone and over chords."""

from livegen.evaluate import EvalConfig
from livegen.evaluate.unfamiliar import made_calls, unfamiliar_keys
from livegen.model.runtime import StepModel
from livegen.music.key import estimate_key, in_scale_ratio
from tests.helpers import random_weights


def test_the_calls_cover_every_key_and_meter_and_stay_in_their_key():
    calls = made_calls()
    assert {(call.key.tonic, call.key.mode) for call in calls} == {(t, m) for t in range(12) for m in ("major", "minor")}
    assert {call.meter.bar_ticks(0) for call in calls} == {48, 36}  # 4/4, and 3/4 and 6/8 (both 36 ticks)
    assert {call.name.split(" in ")[0] for call in calls} == {"melody", "melody+chords"}
    for call in calls:
        assert in_scale_ratio(call.key, call.notes) >= 0.9, call.name
        assert call.notes[-1].pitch % 12 == call.key.tonic or "chords" in call.name, call.name
    with_chords = [call for call in calls if "chords" in call.name]
    assert sum(estimate_key(call.notes) == call.key for call in with_chords) >= 0.8 * len(with_chords)


def test_the_calls_are_the_same_for_the_same_seed():
    assert made_calls(seed=3) == made_calls(seed=3) != made_calls(seed=4)


def test_an_untrained_model_misses_the_key_targets():
    judged = unfamiliar_keys(StepModel(random_weights(seed=2)), "canonical", EvalConfig(seeds=1))
    assert judged["calls"] == 48 and judged["answers"] == 48
    assert judged["key_correlation"] < 0.75 and not judged["met"]
    assert set(judged["by_kind"]) == {"melody", "melody+chords"}
    assert 0 <= judged["in_scale"] <= 1

