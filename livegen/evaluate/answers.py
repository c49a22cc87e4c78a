"""Who answers a call: the preset under several seeds, the notebook's greedy player, and the real music."""

from __future__ import annotations

import numpy as np

from livegen.evaluate.config import EvalConfig
from livegen.evaluate.cutting import Call
from livegen.evaluate.metrics import answer_metrics, reference_index
from livegen.model.generate import continue_notes
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.music import codec, voices
from livegen.music.hearing import hear, hearing
from livegen.music.key import Key, estimate_key

SYSTEMS = ("model", "greedy40", "real")


def continue_windowed(model: StepModel, key_mode: str, prime, meter: codec.Meter, bars: int,
                      window: int) -> tuple[list[codec.Note], int]:
    """The notebook's way: each next token is the likeliest after the last ``window`` tokens,
    re-predicted from a fresh state (no memory beyond the window); grammar and key as usual.

    Returns the answer's notes and its last bar, as :func:`continue_notes` does.
    """
    heard = hear(key_mode, prime, meter)
    history, cursor = list(heard.tokens), heard.cursor
    heard_voices = list(heard.voices)
    greedy = Sampler(SamplingConfig(temperature=0.0))
    last_bar = cursor.bar + bars
    answer = []
    while True:
        logits = model.feed(history[-window:], model.initial_state(), np.array(heard_voices[-window:]))
        token = greedy.choose(logits, cursor)
        if token == cursor.bar_token and cursor.bar + 1 > last_bar:
            break
        note = cursor.advance(token)
        if note is not None:
            answer.append(note)
        history.append(token)
        heard_voices.append(voices.row(cursor))
    shift = heard.hearing.shift
    return (codec.transpose(answer, -shift) if shift else answer), last_bar


def answer_in_key(model: StepModel, key_mode: str, call: Call, with_baseline: bool,
                  novelty_index: dict | None, config: EvalConfig) -> dict:
    """Answers to one call in one key (every seed, and the greedy baseline), measured."""
    key = estimate_key(call.notes)
    if novelty_index is not None:
        # The training pieces were indexed as the preset heard them: answers are compared there.
        reference, frame_shift = novelty_index, hearing(key_mode, call.notes, key).shift
    else:
        reference, frame_shift = reference_index([(call.piece_notes, call.meter)]), 0

    def measure(answer, last_bar):
        return answer_metrics(answer, last_bar - config.answer_bars + 1, call, key,
                              config.answer_bars, reference, frame_shift)

    sampling = config.sampling()
    answers = [continue_notes(model, key_mode, list(call.notes), call.meter, config.answer_bars,
                              Sampler(sampling, seed=seed)) for seed in range(config.seeds)]
    metrics = {
        "real": [measure(call.continuation, call.start_bar + config.answer_bars - 1)],
        "model": [measure(answer.notes, answer.last_bar) for answer in answers],
    }
    if with_baseline:
        metrics["greedy40"] = [measure(*continue_windowed(
            model, key_mode, list(call.notes), call.meter, config.answer_bars, config.greedy_window))]
    return {"metrics": metrics, "mode": key.mode, "example": _example(call, answers[0].notes, key)}


def _example(call: Call, answer, key: Key) -> dict:
    """The first answer, JSON-ready (notes as ``[onset, pitch, velocity, duration]``)."""
    return {
        "name": call.name,
        "key": str(key),
        "bar_ticks": call.meter.bar_ticks(0),
        "answer_start": call.meter.bar_start(call.start_bar),
        "call": [[note.onset, note.pitch, note.velocity, note.duration] for note in call.notes],
        "answer": [[note.onset, note.pitch, note.velocity, note.duration] for note in answer],
        "real": [[note.onset, note.pitch, note.velocity, note.duration] for note in call.continuation],
    }
