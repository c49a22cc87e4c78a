"""The one Keras model definition: trained on long sequences, exported to the numpy step runtime.

Embedding -> ``layers`` x LSTM -> Dense logits. Keras keeps LSTM weights as kernel (in, 4H),
recurrent kernel (H, 4H) and bias (4H) in gate order i, f, c, o with sigmoid gates and a tanh
cell, which is exactly what ``livegen.runtime.StepModel`` computes; ``tests/test_parity.py``
proves it.
"""

from __future__ import annotations

import keras
import numpy as np


def build_model(
    vocab_size: int,
    embedding: int,
    hidden: int,
    layers: int,
    dropout: float = 0.0,
    stateful: bool = False,
    batch_size: int | None = None,
) -> keras.Model:
    """The token language model; ``stateful`` with a fixed ``batch_size`` steps it token by token."""
    if stateful and batch_size is None:
        raise ValueError("a stateful model needs a fixed batch_size, got None")
    tokens = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="tokens")
    values = keras.layers.Embedding(vocab_size, embedding, name="embedding")(tokens)
    for layer in range(layers):
        # Dropout on each LSTM's inputs (the same mask over time); the live runtime has none.
        values = keras.layers.LSTM(
            hidden, return_sequences=True, stateful=stateful, dropout=dropout, name=f"lstm{layer}"
        )(values)
    # Logits in float32 under any precision policy: a softmax over bfloat16 loses the small ones.
    logits = keras.layers.Dense(vocab_size, name="dense", dtype="float32")(values)
    return keras.Model(tokens, logits, name="livegen_lstm")


def model_dims(model: keras.Model) -> dict[str, int]:
    """``{"embedding", "hidden", "layers"}`` of a built model, as a preset records them."""
    layers = sum(1 for layer in model.layers if layer.name.startswith("lstm"))
    return {
        "embedding": model.get_layer("embedding").output_dim,
        "hidden": model.get_layer("lstm0").units,
        "layers": layers,
    }


def export_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """Float32 arrays named as ``livegen.preset.expected_arrays`` wants them."""
    weights = {"embedding": model.get_layer("embedding").get_weights()[0]}
    for layer in range(model_dims(model)["layers"]):
        kernel, recurrent, bias = model.get_layer(f"lstm{layer}").get_weights()
        weights[f"lstm{layer}_kernel"] = kernel
        weights[f"lstm{layer}_recurrent"] = recurrent
        weights[f"lstm{layer}_bias"] = bias
    kernel, bias = model.get_layer("dense").get_weights()
    weights["dense_kernel"] = kernel
    weights["dense_bias"] = bias
    return {name: np.asarray(array, dtype=np.float32) for name, array in weights.items()}
