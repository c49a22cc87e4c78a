"""The session model on its own: what it learns, what it predicts and how sure it is, and the
mixing the sampler does with it."""

import numpy as np
import pytest

from livegen.model.session_model import MAX_TOTAL, ORDERS, SessionModel, check_adapt, extended_by, extended_by_all
from livegen.model.sampling import Blend, GrammarMask, Sampler, SamplingConfig, draw, mix
from livegen.music import codec
from tests.helpers import phrase


def learned_from(tokens, model=None):
    model = SessionModel() if model is None else model
    context = ()
    for token in tokens:
        model.learn(context, token)
        context = extended_by(context, token)
    return model, context


def test_after_a_context_it_has_heard_it_predicts_what_followed_and_an_unheard_one_leaves_the_lstm_alone():
    tokens = codec.encode(phrase(60, bars=2))
    model, _ = learned_from(tokens)
    context = extended_by_all((), tokens[:9])  # ... up to the second onset's POSITION
    distribution, confidence = model.predict(context)
    assert 0 < confidence < 1
    assert max(distribution, key=distribution.get) == tokens[9]
    assert sum(distribution.values()) == pytest.approx(1.0)
    unheard = (codec.pitch_token(100), codec.duration_token(96), codec.position_token(95))
    assert model.predict(unheard) == ({}, 0.0)
    assert model.blend(unheard, 1.0) is None
    assert model.blend(context, 0.0) is None, "adapt 0 mixes nothing in"
    blend = model.blend(context, 0.5)
    assert blend.weight == pytest.approx(0.5 * confidence)


def test_confidence_grows_with_the_counts_of_the_context():
    model = SessionModel()
    context = (codec.BAR, codec.position_token(0))
    confidences = []
    for _ in range(6):
        model.learn(context, codec.pitch_token(67))
        confidences.append(model.predict(context)[1])
    assert confidences == sorted(confidences) and confidences[0] < confidences[-1] < 1.0


def test_velocities_are_neither_learned_nor_part_of_a_context_and_both_bars_count_as_one():
    note = [codec.pitch_token(64), codec.velocity_token(30), codec.duration_token(12)]
    assert extended_by_all((), note) == (codec.pitch_token(64), codec.duration_token(12))
    loud = [codec.pitch_token(64), codec.velocity_token(120), codec.duration_token(12)]
    assert extended_by_all((), loud) == extended_by_all((), note), "the player's loudness does not split the context"
    model, _ = learned_from(note)
    assert all(not codec.VELOCITY_BASE <= token < codec.DURATION_BASE
               for context, counts in model.entries() for token in (*context, *counts))
    assert extended_by((), codec.BAR_MINOR) == (codec.BAR,)
    minor, _ = learned_from([codec.BAR_MINOR, codec.position_token(0)])
    assert dict(minor.entries()) == {(codec.BAR,): {codec.position_token(0): 1}}
    minor.learn((codec.duration_token(12),), codec.BAR)
    assert minor.blend((codec.duration_token(12),), 1.0, bar_token=codec.BAR_MINOR).tokens.tolist() == \
        [codec.BAR_MINOR], "a predicted bar opens the way the preset writes bars"


def test_the_table_keeps_the_contexts_heard_most_recently_and_counts_stay_bounded():
    model = SessionModel(capacity=50)
    tokens = [int(t) for t in np.random.default_rng(0).integers(codec.PITCH_BASE, codec.VELOCITY_BASE, size=400)]
    first_context = extended_by_all((), tokens[:ORDERS])
    model, before_last = learned_from(tokens[:-1], model)
    model.learn(before_last, tokens[-1])
    kept = dict(model.entries())
    assert len(kept) == 50
    assert all(before_last[-order:] in kept for order in range(1, ORDERS + 1)), "the newest contexts are kept"
    assert first_context not in kept, "the oldest went first"
    busy = SessionModel()
    for _ in range(3 * MAX_TOTAL):
        busy.learn((codec.BAR,), codec.position_token(0))
    (_, counts), = busy.entries()
    assert sum(counts.values()) <= MAX_TOTAL


def test_forgetting_empties_the_table():
    model, context = learned_from(codec.encode(phrase(60)))
    model.forget()
    assert len(model) == 0 and model.predict(context) == ({}, 0.0)


def test_adapt_outside_0_to_1_is_refused_in_a_musicians_words():
    with pytest.raises(ValueError, match="between 0 and 1"):
        check_adapt(1.5)


def test_the_mixture_is_the_weighted_sum_of_the_two_distributions_given_the_grammar():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal(codec.VOCAB_SIZE).astype(np.float32)
    cursor = codec.Cursor()
    for token in codec.encode(phrase(60))[:5]:  # after a note: a higher pitch, a later position or a bar
        cursor.advance(token)
    allowed = GrammarMask(SamplingConfig()).allowed(cursor).copy()[:codec.VOCAB_SIZE]
    session = np.zeros(codec.VOCAB_SIZE)
    tokens = np.array([codec.position_token(12), codec.pitch_token(67), codec.velocity_token(80)])
    session[tokens] = [0.5, 0.3, 0.2]  # the velocity cannot come here: its share goes to neither side
    blend = Blend(tokens, session[tokens], 0.4)
    model = np.exp(logits - logits.max())
    model /= model.sum()
    expected = (0.6 * model + 0.4 * session) * allowed
    expected /= expected.sum()
    scores = mix(logits, blend)
    got = np.exp(scores[allowed] - scores[allowed].max())
    assert np.allclose(got / got.sum(), expected[allowed])
    draws = [draw(scores, allowed, SamplingConfig(), np.random.default_rng(seed)) for seed in range(4000)]
    share = np.mean([token == codec.position_token(12) for token in draws])
    assert share == pytest.approx(expected[codec.position_token(12)], abs=0.03)


def test_without_a_blend_the_sampler_draws_exactly_as_it_always_did():
    rng = np.random.default_rng(5)
    config = SamplingConfig(temperature=0.9, top_p=0.95, density=1.5)
    plain, given_none = Sampler(config, seed=7), Sampler(config, seed=7)
    cursor = codec.Cursor()
    for _ in range(300):
        logits = rng.standard_normal(codec.VOCAB_SIZE).astype(np.float32)
        # What choose did before blends existed: density, then the grammar mask, then the draw.
        if plain._density_bias and cursor.phase in (codec.AFTER_BAR, codec.AFTER_NOTE):
            densified = plain._densify(logits, cursor)
        else:
            densified = logits
        before = draw(densified, plain.mask.allowed(cursor)[:codec.VOCAB_SIZE], plain.config, plain.rng)
        token = given_none.choose(logits, cursor, blend=None)
        assert token == before
        cursor.advance(token)


def test_a_blend_of_weight_1_still_leaves_every_allowed_token_possible():
    logits = np.zeros(codec.VOCAB_SIZE, dtype=np.float32)
    scores = mix(logits, Blend(np.array([codec.BAR]), np.array([1.0]), 1.0))
    assert np.isfinite(scores).all() and scores.argmax() == codec.BAR
