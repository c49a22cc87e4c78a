"""The numpy step runtime gives the same logits as the Keras model it was exported from."""

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from livegen.music import codec, voices

from livegen.model import preset
from livegen.model.runtime import StepModel
from livegen.training.model import build_model, export_weights

TOLERANCE = 1e-4
REPOSITORY = Path(__file__).resolve().parent.parent


def phrase_tokens() -> list[int]:
    """Two bars of a small chordal phrase, encoded by the real codec."""
    notes = [
        codec.Note(0, 60, 80, 12), codec.Note(0, 64, 70, 12), codec.Note(0, 67, 70, 24),
        codec.Note(12, 62, 90, 6), codec.Note(18, 65, 60, 6), codec.Note(24, 64, 100, 24),
        codec.Note(48, 55, 50, 48), codec.Note(52, 71, 110, 3), codec.Note(60, 72, 90, 36),
    ]
    return codec.encode(notes, codec.Meter.of_beats(4), bars=3)


def randomised(model, seed: int):
    """The model with every weight drawn at random, biases too, so no gate is left trivial."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def step_model_logits(weights, tokens) -> np.ndarray:
    runtime = StepModel(weights)
    state = runtime.initial_state()
    return np.array([runtime.step(token, state).copy() for token in tokens])


@pytest.mark.parametrize("layers", [1, 2])
def test_numpy_step_equals_keras_stateful_and_sequence(layers):
    tokens = phrase_tokens()
    sequence_model = randomised(build_model(codec.VOCAB_SIZE, 16, 32, layers), seed=layers)
    stateful = build_model(codec.VOCAB_SIZE, 16, 32, layers, stateful=True, batch_size=1)
    stateful.set_weights(sequence_model.get_weights())
    weights = export_weights(sequence_model)
    expected = preset.expected_arrays({"embedding": 16, "hidden": 32, "layers": layers})
    assert {name: array.shape for name, array in weights.items()} == expected

    numpy_logits = step_model_logits(weights, tokens)
    stepped = np.array([
        np.asarray(stateful(np.array([[token]], dtype=np.int32), training=False))[0, 0]
        for token in tokens
    ])
    whole = np.asarray(sequence_model(np.array([tokens], dtype=np.int32), training=False))[0]

    assert len(tokens) > 30
    assert np.abs(numpy_logits).max() > 0.5  # the comparison is not between near-zeros
    assert np.abs(numpy_logits - stepped).max() <= TOLERANCE
    assert np.abs(numpy_logits - whole).max() <= TOLERANCE


def test_live_modules_do_not_import_tensorflow_music21_or_training():
    live = ["livegen.model.runtime", "livegen.model.preset", "livegen.music.codec", "livegen.music.key", "livegen.model.sampling"]
    script = (
        "import importlib, sys\n"
        f"for name in {live!r}: importlib.import_module(name)\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'tensorflow', 'keras', 'music21', 'training'})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_a_model_that_hears_voices_steps_in_numpy_as_keras_runs_it():
    meter = codec.Meter.of_beats(4)
    tokens = phrase_tokens()
    heard = voices.read(tokens, codec.Cursor(meter))
    model = randomised(build_model(codec.VOCAB_SIZE, 16, 32, 2, voices=True), seed=5)
    weights = export_weights(model)
    dims = {"embedding": 16, "hidden": 32, "layers": 2, "voices": voices.SCHEME}
    assert {name: array.shape for name, array in weights.items()} == preset.expected_arrays(dims)
    whole = np.asarray(model([np.array([tokens], np.int32), heard[None].astype(np.int32)], training=False))[0]
    runtime = StepModel(weights)
    state = runtime.initial_state()
    stepped = np.array([runtime.step(token, state, row).copy() for token, row in zip(tokens, heard)])
    assert np.abs(whole).max() > 0.5
    assert np.abs(stepped - whole).max() <= TOLERANCE
    assert np.abs(runtime.feed(tokens, runtime.initial_state(), heard) - whole[-1]).max() <= TOLERANCE
