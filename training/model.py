"""The one Keras model definition: trained on long sequences, exported to the numpy step runtime.

Embedding (plus, for a model that hears voices, the sum of its voices' rows: see
:mod:`livegen.music.voices`) -> ``layers`` x LSTM -> Dense logits. Keras keeps LSTM weights as kernel (in, 4H),
recurrent kernel (H, 4H) and bias (4H) in gate order i, f, c, o with sigmoid gates and a tanh
cell, which is exactly what ``livegen.runtime.StepModel`` computes; ``tests/test_parity.py``
proves it.
"""

from __future__ import annotations

import keras
import numpy as np

from livegen.music import voices as voice_rows
from livegen.training.config import TrainingError


def build_model(
    vocab_size: int,
    embedding: int,
    hidden: int,
    layers: int,
    dropout: float = 0.0,
    stateful: bool = False,
    batch_size: int | None = None,
    voices: bool = False,
) -> keras.Model:
    """The token language model; ``stateful`` with a fixed ``batch_size`` steps it token by token.

    With ``voices`` it takes a second input, each token's voices (``voice_rows.WIDTH`` row
    numbers, ``voice_rows.PAD`` where there are fewer), whose learned rows add to the token's embedding.
    """
    if stateful and batch_size is None:
        raise ValueError("a stateful model needs a fixed batch_size, got None")
    tokens = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="tokens")
    values = keras.layers.Embedding(vocab_size, embedding, name="embedding")(tokens)
    inputs = tokens
    if voices:
        heard = keras.Input(batch_shape=(batch_size, None, voice_rows.WIDTH), dtype="int32", name="voice_rows")
        rows = keras.layers.Embedding(voice_rows.ROWS + 1, embedding, name="voices")(heard)
        present = keras.ops.expand_dims(keras.ops.cast(keras.ops.not_equal(heard, voice_rows.PAD), rows.dtype), -1)
        values = values + keras.ops.sum(rows * present, axis=-2)
        inputs = [tokens, heard]
    for layer in range(layers):
        # Dropout on each LSTM's inputs (the same mask over time); the live runtime has none.
        values = keras.layers.LSTM(
            hidden, return_sequences=True, stateful=stateful, dropout=dropout, name=f"lstm{layer}"
        )(values)
    # Logits in float32 under any precision policy: a softmax over bfloat16 loses the small ones.
    logits = keras.layers.Dense(vocab_size, name="dense", dtype="float32")(values)
    return keras.Model(inputs, logits, name="livegen_lstm")


def hears_voices(model: keras.Model) -> bool:
    return any(layer.name == "voices" for layer in model.layers if isinstance(layer, keras.layers.Embedding))


def model_dims(model: keras.Model) -> dict:
    """``{"embedding", "hidden", "layers"}`` of a built model (and ``voices``: the scheme it hears), as a preset records them."""
    layers = sum(1 for layer in model.layers if layer.name.startswith("lstm"))
    dims = {
        "embedding": model.get_layer("embedding").output_dim,
        "hidden": model.get_layer("lstm0").units,
        "layers": layers,
    }
    if hears_voices(model):
        dims["voices"] = voice_rows.SCHEME
    return dims


def export_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """Float32 arrays named as ``livegen.preset.expected_arrays`` wants them."""
    weights = {"embedding": model.get_layer("embedding").get_weights()[0]}
    if hears_voices(model):
        weights["voices"] = model.get_layer("voices").get_weights()[0][:voice_rows.ROWS]  # not the padding row
    for layer in range(model_dims(model)["layers"]):
        kernel, recurrent, bias = model.get_layer(f"lstm{layer}").get_weights()
        weights[f"lstm{layer}_kernel"] = kernel
        weights[f"lstm{layer}_recurrent"] = recurrent
        weights[f"lstm{layer}_bias"] = bias
    kernel, bias = model.get_layer("dense").get_weights()
    weights["dense_kernel"] = kernel
    weights["dense_bias"] = bias
    return {name: np.asarray(array, dtype=np.float32) for name, array in weights.items()}


def import_weights(model: keras.Model, weights: dict[str, np.ndarray]) -> None:
    """Set a built model's weights from a preset's arrays: the inverse of :func:`export_weights`.

    The arrays must fit the model (same vocabulary, dims and voices); a preset's voices table
    lacks the padding row, which adds nothing, so a zero row is appended.
    """
    expected = set(export_weights(model))
    if set(weights) != expected:
        missing, extra = sorted(expected - set(weights)), sorted(set(weights) - expected)
        raise TrainingError(f"these weights do not fit the model: missing {missing or 'none'}, extra {extra or 'none'}")
    model.get_layer("embedding").set_weights([weights["embedding"]])
    if hears_voices(model):
        table = weights["voices"]
        padding = np.zeros((1, table.shape[1]), dtype=table.dtype)
        model.get_layer("voices").set_weights([np.concatenate([table, padding])])
    for layer in range(model_dims(model)["layers"]):
        model.get_layer(f"lstm{layer}").set_weights(
            [weights[f"lstm{layer}_{part}"] for part in ("kernel", "recurrent", "bias")])
    model.get_layer("dense").set_weights([weights["dense_kernel"], weights["dense_bias"]])
