"""The cost of learning the player: a model step with the session model's lookup, mix and learning."""

from __future__ import annotations

import time

import numpy as np

from livegen.bench.measure import percentiles_ms
from livegen.model.session_model import DEFAULT_ADAPT, SessionModel, extended_by
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.music import codec

SCALE = (0, 2, 4, 5, 7, 9, 11)


def melody(notes: int, seed: int = 0) -> list[int]:
    """Tokens of a wandering C-major line in eighths and quarters, with a chord now and then: material
    varied enough to fill the session model's table."""
    rng = np.random.default_rng(seed)
    degree, onset, written = 14, 0, []
    for _ in range(notes):
        degree = int(np.clip(degree + rng.integers(-3, 4), 0, 27))
        pitch = 48 + 12 * (degree // 7) + SCALE[degree % 7]
        length = int(rng.choice((6, 12, 18, 24)))
        written.append(codec.Note(onset, pitch, int(rng.integers(40, 110)), length))
        if rng.random() < 0.2:
            written.append(codec.Note(onset, pitch - 12, 70, length))
        onset += length
    return codec.encode(codec.merge_unisons(written))


def full_table(seed: int = 0) -> SessionModel:
    """A session model whose table is full, as after hours of playing."""
    model, context = SessionModel(), ()
    tokens = melody(2000, seed)
    while len(model) < model.capacity:
        for token in tokens:
            model.learn(context, token)
            context = extended_by(context, token)
        tokens = melody(2000, seed := seed + 1)
    return model


def bench_adaptation(weights: dict, tokens: int) -> dict:
    """Per token, as the answer is sampled with a full table: the step, the session model's blend, the
    mixed draw, and learning the token as if the player had played it; beside the same loop without."""
    model = StepModel(weights)
    model.warm_up()
    session = full_table()
    rows = {}
    for name, adapt in (("adapted", DEFAULT_ADAPT), ("plain", 0.0)):
        sampler = Sampler(SamplingConfig(temperature=0.9, top_p=0.95), seed=0)
        state, cursor, context = model.initial_state(), codec.Cursor(), ()
        times, mixed = [], 0
        clock = time.perf_counter
        for _ in range(tokens):
            started = clock()
            blend = session.blend(context, adapt, cursor.bar_token) if adapt else None
            token = sampler.choose(state.logits, cursor, blend=blend)
            cursor.advance(token)
            model.step(token, state, model.voices_after(cursor))
            if adapt:
                session.learn(context, token)
            context = extended_by(context, token)
            times.append(clock() - started)
            mixed += blend is not None
        rows[name] = {**percentiles_ms(times), "mixed_share": round(mixed / tokens, 3)}
    return {**rows["adapted"], "without": rows["plain"], "contexts": len(session), "adapt": DEFAULT_ADAPT}
