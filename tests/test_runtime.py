"""The numpy step model against a plain reference LSTM, and its state handling."""

import numpy as np
import pytest

from livegen.music import codec, voices
from livegen.model.runtime import StepModel
from tests.helpers import phrase, random_weights


def reference_logits(weights, tokens, layers, heard=None):
    """Textbook float64 LSTM (gates i, f, c, o), written independently of the runtime; ``heard``:
    each token's voices (row numbers), whose rows add to its embedding."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    hidden = w["lstm0_recurrent"].shape[0]
    h = [np.zeros(hidden) for _ in range(layers)]
    c = [np.zeros(hidden) for _ in range(layers)]
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    out = []
    for index, token in enumerate(tokens):
        x = w["embedding"][token]
        if heard is not None:
            x = x + sum((w["voices"][row] for row in heard[index] if row != voices.PAD), np.zeros_like(x))
        for layer in range(layers):
            z = x @ w[f"lstm{layer}_kernel"] + h[layer] @ w[f"lstm{layer}_recurrent"] + w[f"lstm{layer}_bias"]
            i, f, g, o = np.split(z, 4)
            c[layer] = sigmoid(f) * c[layer] + sigmoid(i) * np.tanh(g)
            h[layer] = sigmoid(o) * np.tanh(c[layer])
            x = h[layer]
        out.append(x @ w["dense_kernel"] + w["dense_bias"])
    return np.array(out)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_step_model_matches_the_reference_lstm(layers):
    weights = random_weights(layers=layers, seed=layers)
    tokens = codec.encode(phrase(bars=3))
    model = StepModel(weights)
    state = model.initial_state()
    got = np.array([model.step(t, state).copy() for t in tokens])
    assert np.max(np.abs(got - reference_logits(weights, tokens, layers))) < 1e-4


def test_forked_state_leaves_the_original_untouched():
    model = StepModel(random_weights())
    state = model.initial_state()
    model.feed(codec.encode(phrase()), state)
    fork = state.copy()
    before = [h.copy() for h in state.hidden]
    model.feed([codec.BAR, codec.POSITION_BASE, codec.PITCH_BASE + 40], fork)
    assert all(np.array_equal(a, b) for a, b in zip(before, state.hidden))
    assert not np.array_equal(fork.hidden[-1], state.hidden[-1])
    state.load(fork)
    assert all(np.array_equal(a, b) for a, b in zip(fork.hidden + fork.cell, state.hidden + state.cell))


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_feeding_layer_by_layer_equals_stepping_one_by_one(layers):
    model = StepModel(random_weights(layers=layers))
    tokens = codec.encode(phrase(bars=4))
    one, two = model.initial_state(), model.initial_state()
    fed = model.feed(tokens, one).copy()
    for token in tokens:
        stepped = model.step(token, two)
    assert np.max(np.abs(fed - stepped)) < 1e-5
    for mine, theirs in zip(one.hidden + one.cell, two.hidden + two.cell):
        assert np.max(np.abs(mine - theirs)) < 1e-5
    assert np.max(np.abs(fed - reference_logits(random_weights(layers=layers), tokens, layers)[-1])) < 1e-4


def test_out_of_vocabulary_token_is_refused():
    model = StepModel(random_weights())
    with pytest.raises(ValueError, match="token 9999 is outside the model's vocabulary"):
        model.step(9999, model.initial_state())
    with pytest.raises(ValueError, match="token -1 is outside the model's vocabulary"):
        model.feed([codec.BAR, -1], model.initial_state())


def test_a_model_that_hears_voices_adds_their_rows_stepped_and_fed_alike():
    weights = random_weights(seed=4, voices=True)
    meter = codec.Meter.of_beats(4)
    tokens = codec.encode(phrase(bars=3), meter)
    heard = voices.read(tokens, codec.Cursor(meter))
    assert (heard != voices.PAD).any(axis=1).mean() > 0.8, "most tokens hear some voice"
    expected = reference_logits(weights, tokens, 2, heard)
    model = StepModel(weights)
    state = model.initial_state()
    stepped = np.array([model.step(t, state, [r for r in row if r != voices.PAD]).copy()
                        for t, row in zip(tokens, heard)])
    assert np.max(np.abs(stepped - expected)) < 1e-4
    assert np.max(np.abs(model.feed(tokens, model.initial_state(), heard) - expected[-1])) < 1e-4
    deaf = reference_logits(weights, tokens, 2)
    assert np.max(np.abs(deaf - expected)) > 1e-2, "the voices change what the model says"


def test_a_model_that_hears_voices_refuses_tokens_fed_without_them():
    model = StepModel(random_weights(voices=True))
    with pytest.raises(ValueError, match="this model hears voices"):
        model.feed([codec.BAR], model.initial_state())
    with pytest.raises(ValueError, match="one row of 24 a token"):
        model.feed([codec.BAR, codec.BAR], model.initial_state(), np.zeros((1, voices.WIDTH), np.uint8))
