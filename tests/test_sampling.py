"""Sampling: the grammar mask, musical limits, and the draw's knobs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livegen.music import codec
from livegen.music.key import Key
from livegen.model.sampling import GrammarMask, Sampler, SamplingConfig, draw


def random_walk(config, seed, tokens=400, meter=codec.Meter()):
    """Tokens drawn from uniform logits under the grammar: every draw must be readable."""
    sampler = Sampler(config, seed=seed)
    cursor = codec.Cursor(meter)
    logits = np.zeros(codec.VOCAB_SIZE, dtype=np.float32)
    notes = []
    for _ in range(tokens):
        note = cursor.advance(sampler.choose(logits, cursor))
        if note is not None:
            notes.append(note)
    return notes, cursor


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 8), st.integers(1, 96))
def test_masked_draws_always_follow_the_grammar_and_cap(seed, cap, bar_ticks):
    notes, _ = random_walk(SamplingConfig(max_polyphony=cap), seed, meter=codec.Meter(((0, bar_ticks),)))
    for note in notes:
        sounding = [n for n in notes if n.onset <= note.onset < n.end]
        assert len(sounding) <= cap


def test_key_lock_and_range_keep_every_note_in_scale_and_range():
    scale = Key(7, "major").scale()
    config = SamplingConfig(pitch_low=55, pitch_high=79, scale=scale)
    notes, _ = random_walk(config, seed=3, tokens=2000)
    assert len(notes) > 50
    assert all(55 <= n.pitch <= 79 and n.pitch % 12 in scale for n in notes)


def test_no_pitch_restarts_while_it_still_sounds():
    notes, _ = random_walk(SamplingConfig(pitch_low=60, pitch_high=62), seed=1, tokens=1500)
    for a in notes:
        for b in notes:
            if a is not b and a.pitch == b.pitch:
                assert not (a.onset < b.onset < a.end)


def test_temperature_zero_is_argmax_over_allowed_tokens():
    logits = np.zeros(codec.VOCAB_SIZE)
    logits[codec.PITCH_BASE] = 50.0  # not allowed at the start
    logits[codec.BAR] = 1.0
    mask = GrammarMask(SamplingConfig()).allowed(codec.Cursor())
    assert draw(logits, mask, SamplingConfig(temperature=0), np.random.default_rng(0)) == codec.BAR


def test_top_k_one_and_top_p_small_pick_the_best():
    rng = np.random.default_rng(0)
    logits = np.linspace(0, 3, codec.VOCAB_SIZE)
    allowed = np.ones(codec.VOCAB_SIZE, dtype=bool)
    for config in (SamplingConfig(top_k=1), SamplingConfig(top_p=0.01), SamplingConfig(min_p=0.999)):
        assert {draw(logits, allowed, config, rng) for _ in range(50)} == {codec.VOCAB_SIZE - 1}


def test_draw_follows_the_softmax_distribution():
    rng = np.random.default_rng(1)
    logits = np.full(codec.VOCAB_SIZE, -np.inf)
    logits[[5, 6]] = np.log([0.25, 0.75])
    allowed = np.ones(codec.VOCAB_SIZE, dtype=bool)
    draws = [draw(logits, allowed, SamplingConfig(), rng) for _ in range(4000)]
    assert set(draws) == {5, 6}
    assert abs(draws.count(6) / len(draws) - 0.75) < 0.03


def test_same_seed_same_tokens():
    assert random_walk(SamplingConfig(), 7)[0] == random_walk(SamplingConfig(), 7)[0]
    assert random_walk(SamplingConfig(), 7)[0] != random_walk(SamplingConfig(), 8)[0]


@pytest.mark.parametrize("kwargs, words", [
    ({"temperature": -1}, "temperature must be between 0"),
    ({"top_p": 0}, "top-p must be above 0"),
    ({"max_polyphony": 0}, "polyphony cap must be between 1 and 16 notes, got 0"),
    ({"pitch_low": 80, "pitch_high": 60}, "got 80..60"),
    ({"scale": frozenset({13})}, "pitch classes 0..11"),
])
def test_nonsense_settings_are_refused_in_words(kwargs, words):
    with pytest.raises(ValueError, match=words):
        SamplingConfig(**kwargs)


@pytest.mark.parametrize("density, chord", [(0.25, [60]), (4.0, [60]), (0.5, [48, 55, 60]), (4.0, [48, 55, 60])])
def test_density_multiplies_the_odds_of_a_chord_note_or_an_onset_within_the_beat(density, chord):
    """Above 1 once; below 1 once for every note sounding, so a full chord thins more than one note."""
    cursor = codec.Cursor()
    for token in (codec.BAR, codec.position_token(0)):
        cursor.advance(token)
    for pitch in chord:
        for token in (codec.pitch_token(pitch), codec.velocity_token(80), codec.duration_token(12)):
            cursor.advance(token)
    sampler = Sampler(SamplingConfig(density=density, max_polyphony=16), seed=1)
    logits = np.zeros(codec.VOCAB_SIZE, dtype=np.float32)
    draws = np.array([sampler.choose(logits, cursor) for _ in range(20_000)])
    allowed = GrammarMask(SamplingConfig(max_polyphony=16)).allowed(cursor)[:codec.VOCAB_SIZE]
    boosted = np.zeros(codec.VOCAB_SIZE, dtype=bool)
    boosted[codec.pitch_token(chord[-1] + 1):codec.VELOCITY_BASE] = True  # a higher note of this chord
    boosted[codec.position_token(1):codec.position_token(13)] = True  # an onset within the next beat
    boosted &= allowed
    factor = density ** len(chord) if density < 1 else density
    expected = factor * boosted.sum() / (factor * boosted.sum() + (allowed & ~boosted).sum())
    assert np.isin(draws, np.flatnonzero(boosted)).mean() == pytest.approx(expected, abs=0.015)


def reference_draw(logits, allowed, config, rng):
    """The plain way to sample, with numpy's functions step by step: what ``draw`` must equal."""
    candidates = np.flatnonzero(allowed)
    scores = logits[candidates].astype(np.float64)
    best = int(np.argmax(scores))
    if config.temperature == 0.0 or candidates.size == 1:
        return int(candidates[best])
    probabilities = np.exp((scores - scores[best]) / config.temperature)
    if config.top_k and config.top_k < candidates.size:
        probabilities[probabilities < np.sort(probabilities)[-config.top_k]] = 0.0
    probabilities[probabilities < config.min_p] = 0.0
    if config.top_p < 1.0:
        order = np.argsort(probabilities)[::-1]
        cumulative = np.cumsum(probabilities[order])
        keep = int(np.searchsorted(cumulative, config.top_p * cumulative[-1])) + 1
        probabilities[order[keep:]] = 0.0
    cumulative = np.cumsum(probabilities)
    return int(candidates[np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")])


@pytest.mark.parametrize("config", [
    SamplingConfig(),
    SamplingConfig(temperature=0.9, top_p=0.95),
    SamplingConfig(temperature=0.3, top_p=0.5),
    SamplingConfig(temperature=1.5, top_k=5),
    SamplingConfig(temperature=0.8, min_p=0.05, top_p=0.9),
    SamplingConfig(temperature=0),
])
def test_draw_picks_the_reference_token_from_the_same_random_stream(config):
    source = np.random.default_rng(11)
    ours, theirs = np.random.default_rng(5), np.random.default_rng(5)
    picks = set()
    for _ in range(3000):
        logits = (source.standard_normal(codec.VOCAB_SIZE) * 2).astype(np.float32)
        allowed = source.random(codec.VOCAB_SIZE) < source.choice([0.05, 0.2, 1.0])
        allowed[source.integers(codec.VOCAB_SIZE)] = True
        token = draw(logits, allowed, config, ours)
        assert token == reference_draw(logits, allowed, config, theirs)
        picks.add(token)
    assert len(picks) > 20
