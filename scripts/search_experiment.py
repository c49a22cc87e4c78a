"""Experiment: does keeping the best of several sampled bars make answers move more like the style?

Each answer is sampled bar by bar. For every bar, ``--candidates`` bars are sampled on copies of
the model state, and the one the model itself finds likeliest (mean log-probability of its
tokens under the unscaled model) goes on; one candidate is plain sampling. The answers to calls
cut from the preset's held-out pieces (``calls/``) are judged by the style test of
:mod:`livegen.evaluate.style`, as ``livegen eval`` judges them, with the same sampling settings.

Run: ``python scripts/search_experiment.py chorale --candidates 1 4 8``; prints one JSON line a setting.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from livegen.evaluate.config import EvalConfig
from livegen.evaluate.cutting import cut_windows
from livegen.evaluate.features import Excerpt
from livegen.evaluate.style import HOP_BARS, style_test
from livegen.model import preset
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler
from livegen.music import codec
from livegen.music.hearing import hear
from livegen.music.key import estimate_key, key_correlation
from livegen.music.midifile import read_midi


def log_softmax(logits: np.ndarray) -> np.ndarray:
    values = logits.astype(np.float64)
    top = values.max()
    return values - top - np.log(np.exp(values - top).sum())


def sample_bar(model: StepModel, state, cursor: codec.Cursor, sampler: Sampler, last_bar: int):
    """Sample on from ``state``/``cursor`` (changed in place) up to the next bar line; tokens, notes, mean log-p, done."""
    tokens, notes, total = [], [], 0.0
    while True:
        token = sampler.choose(state.logits, cursor)
        if token == cursor.bar_token and cursor.bar + 1 > last_bar:
            return tokens, notes, total / max(len(tokens), 1), True
        total += float(log_softmax(state.logits)[token])
        tokens.append(token)
        note = cursor.advance(token)
        if note is not None:
            notes.append(note)
        model.step(token, state, model.voices_after(cursor))
        if token == cursor.bar_token:
            return tokens, notes, total / len(tokens), False


def answer(model: StepModel, key_mode: str, call, meter: codec.Meter, bars: int, sampler: Sampler,
           candidates: int):
    heard = hear(key_mode, call, meter)
    state = model.initial_state()
    model.feed(heard.tokens, state, heard.voices)
    cursor = heard.cursor
    last_bar = cursor.bar + bars
    notes = []
    while True:
        tries = []
        for _ in range(candidates):
            fork, fork_cursor = state.copy(), cursor.copy()
            tokens, bar_notes, score, done = sample_bar(model, fork, fork_cursor, sampler, last_bar)
            tries.append((score, fork, fork_cursor, bar_notes, done))
        _, state, cursor, bar_notes, done = max(tries, key=lambda entry: entry[0])
        notes.extend(bar_notes)
        if done:
            break
    shift = heard.hearing.shift
    return (codec.transpose(notes, -shift) if shift else notes), last_bar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--candidates", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--pieces", type=int, help="only the first N held-out pieces (a smoke run)")
    parser.add_argument("--temperature", type=float, default=EvalConfig.temperature)
    parser.add_argument("--top-p", type=float, default=EvalConfig.top_p)
    args = parser.parse_args()
    loaded = preset.load(args.preset)
    model = StepModel(loaded.weights)
    config = EvalConfig(seeds=args.seeds, temperature=args.temperature, top_p=args.top_p)
    pieces = [(path.stem, read_midi(path)) for path in sorted((loaded.path / "calls").glob("*.mid"))][:args.pieces]
    for candidates in args.candidates:
        started = time.perf_counter()
        answers, real, keys = [], [], []
        for name, piece in pieces:
            for call, excerpt in cut_windows(name, piece, config.call_bars, config.answer_bars, HOP_BARS):
                real.append(excerpt)
                meter = codec.Meter(((0, excerpt.bar_ticks),))
                for seed in range(config.seeds):
                    notes, last_bar = answer(model, loaded.key_mode, list(call), meter, config.answer_bars,
                                             Sampler(config.sampling(), seed=seed), candidates)
                    if notes:
                        keys.append(key_correlation(estimate_key(list(call)), notes))
                    first_tick = (last_bar - config.answer_bars + 1) * excerpt.bar_ticks
                    answers.append(Excerpt(tuple(notes), call, first_tick, config.answer_bars, excerpt.bar_ticks, name))
        judged = style_test(answers, real)
        gaps = {name: round(gap["gap_sd"], 2) for name, gap in judged["features"].items()}
        print(json.dumps({"preset": args.preset, "candidates": candidates, "temperature": args.temperature,
                          "top_p": args.top_p, "accuracy": round(judged["accuracy"], 3),
                          "key_correlation": round(float(np.mean(keys)), 3),
                          "control_real_vs_real": round(judged["control_real_vs_real"], 3),
                          "answers": judged["answers"], "seconds": round(time.perf_counter() - started),
                          "gaps_sd": gaps}), flush=True)


if __name__ == "__main__":
    main()
