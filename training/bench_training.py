"""Measure training throughput and Keras inference latency against the original notebook's ways.

Training: teacher forcing on long windows (every position a target) against one 40-token window
per target (the notebook's way), with the same model size and the same batch of sequences.
Inference: Keras ``model.predict`` on a 40-token window per generated token (the notebook's
way) against a ``tf.function`` single step of a stateful model, and the numpy step runtime.
"""

from __future__ import annotations

import json
import time

import keras
import numpy as np
import tensorflow as tf

from livegen.music import codec, voices
from livegen.model.runtime import StepModel
from livegen.training.model import build_model, export_weights
from livegen.training.config import TrainConfig
from livegen.training.trainer import new_model

NOTEBOOK_WINDOW = 40


def bench_training(hidden: int = 256, layers: int = 2, embedding: int = 64, seconds: float = 20.0,
                   seq_len: int = 256, batch: int = 32) -> dict:
    """Training targets per second: long teacher-forced windows vs one 40-token window per target.

    The model is ``livegen train``'s default, which hears voices: each token comes with a row of
    voices (random here, as the tokens are; a fifth of the places empty).
    """
    config = TrainConfig(embedding=embedding, hidden=hidden, layers=layers, seq_len=seq_len, batch=batch)
    rng = np.random.default_rng(0)
    long_weights = np.ones((batch, seq_len), dtype=np.float32)
    # The notebook predicted only the token after each window: one weighted target per sequence.
    window_weights = np.zeros((batch, NOTEBOOK_WINDOW), dtype=np.float32)
    window_weights[:, -1] = 1.0
    results = {"hidden": hidden, "layers": layers, "embedding": embedding, "batch": batch}
    for name, length, weights in (("long_sequences", seq_len, long_weights),
                                  ("notebook_windows", NOTEBOOK_WINDOW, window_weights)):
        tokens = rng.integers(1, codec.VOCAB_SIZE, size=(batch, length + 1)).astype(np.int32)
        heard = rng.integers(0, voices.ROWS, size=(batch, length, voices.WIDTH)).astype(np.int32)
        heard[rng.random(heard.shape) < 0.2] = voices.PAD
        rate = _targets_per_second(new_model(config), tokens, heard if config.voices else None, weights, seconds / 2)
        results[name] = {"sequence_length": length, "targets_per_batch": int(weights.sum()),
                         "targets_per_second": round(rate, 1)}
    results["speedup"] = round(results["long_sequences"]["targets_per_second"]
                               / results["notebook_windows"]["targets_per_second"], 1)
    return results


def _targets_per_second(
    model: keras.Model, tokens: np.ndarray, heard: np.ndarray | None, weights: np.ndarray, seconds: float
) -> float:
    """Fit one batch over and over for ``seconds`` after a warm-up; weighted targets per second.

    ``heard``: each input token's voices, for a model that hears them (None for one that does not).
    """
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    if heard is not None:
        inputs = {"tokens": inputs, "voice_rows": heard}
    for _ in range(2):  # tracing and first-call allocation are not throughput
        model.train_on_batch(inputs, targets, sample_weight=weights)
    batches, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        model.train_on_batch(inputs, targets, sample_weight=weights)
        batches += 1
    return batches * float(weights.sum()) / (time.perf_counter() - started)


def bench_keras_step(hidden: int = 256, layers: int = 2, embedding: int = 64,
                     predict_calls: int = 100, steps: int = 1000) -> dict:
    """Per-token latency (ms): notebook-style ``predict`` on 40 tokens, a ``tf.function`` step, numpy."""
    model = build_model(codec.VOCAB_SIZE, embedding, hidden, layers)
    stateful = build_model(codec.VOCAB_SIZE, embedding, hidden, layers, stateful=True, batch_size=1)
    stateful.set_weights(model.get_weights())
    rng = np.random.default_rng(0)
    window = rng.integers(1, codec.VOCAB_SIZE, size=(1, NOTEBOOK_WINDOW)).astype(np.int32)
    tokens = rng.integers(1, codec.VOCAB_SIZE, size=steps).astype(np.int32)

    step = tf.function(lambda token: stateful(token, training=False))
    runtime = StepModel(export_weights(model))
    state = runtime.initial_state()
    timings = {
        "keras_predict_40_window": _latencies(
            lambda _: model.predict(window, verbose=0), range(predict_calls)
        ),
        "keras_tf_function_step": _latencies(lambda token: step(tf.constant([[token]])).numpy(), tokens),
        "numpy_step": _latencies(lambda token: runtime.step(int(token), state), tokens),
    }
    return {"hidden": hidden, "layers": layers, "embedding": embedding, **timings}


def _latencies(call, arguments) -> dict:
    """Median and 99th percentile milliseconds of ``call`` over ``arguments``, after 3 warm-up calls."""
    arguments = list(arguments)
    for argument in arguments[:3]:
        call(argument)
    times = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(float(np.median(times)), 3),
            "p99_ms": round(float(np.percentile(times, 99)), 3), "calls": len(times)}


if __name__ == "__main__":
    print(json.dumps({"training": bench_training(), "inference": bench_keras_step()}, indent=2))
