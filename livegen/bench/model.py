"""The model's own costs: one numpy step, and choosing a token from its logits."""

from __future__ import annotations

import time

import numpy as np

from livegen.music import codec, voices

from livegen.bench.measure import percentiles_ms
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig


# A four-voice texture, for a model that hears voices: four pitches sound, the last onset struck four.
FOUR_VOICES = (67 - codec.PITCH_LOW, 64 - codec.PITCH_LOW, 55 - codec.PITCH_LOW, 48 - codec.PITCH_LOW,
               voices.PITCHES + 48 - codec.PITCH_LOW, voices.PITCHES + 55 - codec.PITCH_LOW,
               voices.PITCHES + 62 - codec.PITCH_LOW, voices.PITCHES + 65 - codec.PITCH_LOW)


def bench_step(weights: dict, steps: int) -> dict:
    """Latency of one numpy model step (with four voices sounding and four struck, if it hears voices)."""
    model = StepModel(weights)
    model.warm_up()
    state = model.initial_state()
    tokens = np.random.default_rng(1).integers(1, model.vocab_size, size=steps)
    heard = FOUR_VOICES if model.hears_voices else ()
    times = []
    clock = time.perf_counter
    for token in tokens:
        started = clock()
        model.step(int(token), state, heard)
        times.append(clock() - started)
    return percentiles_ms(times)


def bench_sampling(weights: dict, tokens: int) -> dict:
    """Cost of choosing a token: grammar mask + softmax + top-p + draw (the model step excluded)."""
    model = StepModel(weights)
    sampler = Sampler(SamplingConfig(temperature=0.9, top_p=0.95), seed=0)
    cursor = codec.Cursor()
    state = model.initial_state()
    logits = model.step(codec.BAR, state).copy()
    cursor.advance(codec.BAR)
    times = []
    clock = time.perf_counter
    for _ in range(tokens):
        started = clock()
        token = sampler.choose(logits, cursor)
        times.append(clock() - started)
        cursor.advance(token)
        logits = model.step(token, state, model.voices_after(cursor))
    return percentiles_ms(times)
