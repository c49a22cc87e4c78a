"""Does a preset answer like music? Calls cut from held-out pieces, answered in many keys, measured.

Each held-out piece gives a call (``call_bars`` bars) and its real continuation (the next
``answer_bars`` bars). Every call is moved to several keys, the preset answers it with
:func:`livegen.model.generate.continue_notes` under several seeds, and the answers are measured
against the call's key, the real continuation, the call itself (echo) and the training data
(novelty), and a classifier judges how well they pass for the real continuations
(:mod:`livegen.evaluate.style`). The notebook's way of playing (greedy argmax, re-predicting from the last 40 tokens
with a fresh state every step) is measured on the same calls as a baseline. Numpy only: no
TensorFlow, no music21.
"""

from __future__ import annotations

import numpy as np

from livegen.evaluate.answers import SYSTEMS, answer_in_key
from livegen.evaluate.config import KEY_SHIFTS, EvalConfig, EvaluationError
from livegen.evaluate.cutting import cut_calls
from livegen.evaluate.losses import held_out_losses
from livegen.evaluate.metrics import reference_index
from livegen.evaluate.report import summarise, targets
from livegen.evaluate.style import style_fidelity
from livegen.evaluate.unfamiliar import unfamiliar_keys
from livegen.model.runtime import StepModel
from livegen.music.hearing import hearing
from livegen.music.key import MODES, estimate_key


def evaluate(preset, calls, config: EvalConfig = EvalConfig(), training_pieces=None,
             progress=None) -> dict:
    """Answer held-out calls in many keys and measure the answers; a JSON-ready dict.

    ``calls``: ``(name, Piece)`` held-out pieces. ``training_pieces``: the preset's training
    pieces, when at hand, for the Markov baseline's loss and for novelty; without them the loss
    comparison comes from the model card and novelty is checked against the held-out piece only.
    """
    calls = list(calls)
    cut = cut_calls(calls, config)
    if not cut:
        raise EvaluationError(
            f"none of the {len(calls)} held-out pieces is long enough for a {config.call_bars}-bar "
            f"call and a {config.answer_bars}-bar continuation with at least 3 call notes"
        )
    model = StepModel(preset.weights)
    novelty_index = None
    if training_pieces is not None:
        novelty_index = reference_index(  # each piece heard in the key training heard it in (no ending rule)
            (hearing(preset.key_mode, piece.notes, estimate_key(piece.notes)).notes(piece.notes), piece.meter)
            for _, piece in training_pieces)
    systems = SYSTEMS if config.baseline_keys else ("model", "real")
    samples: dict[str, list[dict]] = {system: [] for system in systems}
    by_mode: dict[str, dict[str, list[float]]] = {system: {mode: [] for mode in MODES} for system in systems}
    calls_by_mode = {mode: 0 for mode in MODES}
    example = None
    for number, original in enumerate(cut):
        for key_number, shift in enumerate(KEY_SHIFTS[:config.keys]):
            answered = answer_in_key(model, preset.key_mode, original.transposed(shift),
                                     key_number < config.baseline_keys, novelty_index, config)
            for system, rows in answered["metrics"].items():
                samples[system].extend(rows)
                by_mode[system][answered["mode"]].extend(row["key_correlation"] for row in rows)
            example = example or answered["example"]
        calls_by_mode[answered["mode"]] += 1  # a call's mode is the same in every key
        if progress is not None:
            progress(number + 1, len(cut))
    summary = {system: summarise(rows) for system, rows in samples.items()}
    used = {call.name for call in cut}
    result = {
        "preset": preset.name,
        "calls": [call.name for call in cut],
        "key_shifts": list(KEY_SHIFTS[:config.keys]),
        "seeds": config.seeds,
        "answers": len(samples["model"]),
        "baseline_answers": len(samples.get("greedy40", [])),
        "sampling": {"temperature": config.temperature, "top_p": config.top_p, "cadence": config.cadence},
        "call_bars": config.call_bars,
        "answer_bars": config.answer_bars,
        "novelty_reference": "training data" if novelty_index is not None else "the held-out piece only",
        "loss": held_out_losses(model, preset, [piece for name, piece in calls if name in used],
                                training_pieces),
        "systems": summary,
        "key_correlation_by_call_mode": {
            mode: {"calls": calls_by_mode[mode],
                   **{system: float(np.mean(by_mode[system][mode])) if by_mode[system][mode] else None
                      for system in systems}}
            for mode in MODES},
    }
    result["targets"] = targets(summary["model"])
    result["style"] = style_fidelity(model, preset.key_mode, calls, config)
    result["unfamiliar"] = unfamiliar_keys(model, preset.key_mode, config)
    result["example"] = example
    return result
