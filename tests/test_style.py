"""The style judge: it must catch what is not the style, and must not catch the style itself."""

import numpy as np
import pytest

from livegen.evaluate.cutting import cut_windows
from livegen.evaluate.features import FEATURES, Excerpt, features, random_pitches
from livegen.evaluate.style import style_test, two_sample_accuracy
from livegen.model import preset as presets
from livegen.music import codec
from livegen.music.midifile import read_midi

BAR = 4 * codec.TICKS_PER_BEAT
QUARTER = codec.TICKS_PER_BEAT


def real_excerpts(preset_name):
    """Real continuations cut from a bundled preset's held-out pieces (real music, not ours)."""
    excerpts = []
    for path in sorted((presets.find(preset_name) / "calls").glob("*.mid")):
        excerpts += [excerpt for _, excerpt in cut_windows(path.stem, read_midi(path), 2, 8, 4)]
    return excerpts


def feature(excerpt, name):
    return features(excerpt)[list(FEATURES).index(name)]


def test_features_say_what_a_musician_hears():
    call = tuple(codec.Note(i * QUARTER, 60 + 2 * i, 80, QUARTER) for i in range(4))
    # A scale upwards in quarters, then a bar of rest: steps, every beat struck in the first bar.
    notes = tuple(codec.Note(BAR + i * QUARTER, 60 + [0, 2, 4, 5][i], 80, QUARTER) for i in range(4))
    excerpt = Excerpt(notes, call, BAR, 2, BAR, "scale")
    assert feature(excerpt, "top_steps") == 1.0
    assert feature(excerpt, "top_motion") == pytest.approx(5 / 3)
    assert feature(excerpt, "silent_beats") == 0.5
    assert feature(excerpt, "notes_per_bar") == 2.0
    assert feature(excerpt, "groove") == pytest.approx(1.0)  # the call's own onsets, beat for beat
    leaps = tuple(codec.Note(BAR + i * QUARTER, 60 + [0, 12, 0, 12][i], 80, QUARTER) for i in range(4))
    assert feature(Excerpt(leaps, call, BAR, 2, BAR, "leaps"), "top_steps") == 0.0
    chord = tuple(codec.Note(BAR, pitch, 80, BAR) for pitch in (60, 61, 62))  # a cluster: all seconds
    assert feature(Excerpt(chord, call, BAR, 1, BAR, "cluster"), "consonance") == 0.0
    triad = tuple(codec.Note(BAR, pitch, 80, BAR) for pitch in (60, 64, 67))
    assert feature(Excerpt(triad, call, BAR, 1, BAR, "triad"), "consonance") == 1.0


def test_random_pitches_keep_the_rhythm_and_the_range():
    excerpt = real_excerpts("chorale")[0]
    scrambled = random_pitches(excerpt, np.random.default_rng(0))
    assert [(n.onset, n.duration) for n in scrambled.notes] == [(n.onset, n.duration) for n in excerpt.notes]
    assert [n.pitch for n in scrambled.notes] != [n.pitch for n in excerpt.notes]
    pitches = [n.pitch for n in excerpt.notes]
    assert all(min(pitches) <= n.pitch <= max(pitches) for n in scrambled.notes)


@pytest.mark.parametrize("preset_name", ["chorale", "folk"])
def test_the_judge_catches_random_pitches_and_not_the_music_itself(preset_name):
    real = real_excerpts(preset_name)
    judged = style_test(real, real)
    assert judged["control_random_pitches"] >= 0.9
    assert judged["control_real_vs_real"] <= 0.65
    assert judged["accuracy"] <= 0.55  # the same excerpts on both sides: nothing to tell


def test_the_judge_tells_one_style_from_another():
    chorales, tunes = real_excerpts("chorale"), real_excerpts("folk")
    first = np.array([features(e) for e in chorales])
    second = np.array([features(e) for e in tunes])
    assert two_sample_accuracy(first, second, [e.group for e in chorales], [e.group for e in tunes]) >= 0.9


def test_a_two_sample_test_needs_two_pieces():
    one = np.zeros((3, len(FEATURES)))
    with pytest.raises(ValueError, match="at least 2 calls, got 1"):
        two_sample_accuracy(one, one, ["a"] * 3, ["a"] * 3)


def test_an_untrained_model_is_told_from_bach_in_an_evaluation():
    from livegen.evaluate import EvalConfig
    from livegen.evaluate.style import style_fidelity
    from livegen.model.runtime import StepModel
    from tests.helpers import random_weights

    pieces = [(path.stem, read_midi(path)) for path in sorted((presets.find("chorale") / "calls").glob("*.mid"))[:8]]
    judged = style_fidelity(StepModel(random_weights(seed=5)), "canonical", pieces, EvalConfig(seeds=1))
    assert judged["pieces"] >= 4 and judged["answers"] == judged["real"]
    assert judged["accuracy"] >= 0.8 and not judged["met"]
    assert judged["control_random_pitches"] >= 0.9
