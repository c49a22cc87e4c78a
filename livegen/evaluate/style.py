"""Style fidelity: can a plain classifier tell a preset's answers from the real continuations?

A classifier two-sample test. Each excerpt (an answer, or the real continuation of the same
call) becomes a vector of musical features (:mod:`livegen.evaluate.features`); a regularised
logistic regression is cross-validated on answers against real continuations, with folds split
by piece, so no piece is on both sides of a fold. Its balanced accuracy is the measure: 0.5 is
"cannot tell them apart". Two controls run on the same excerpts: real against other real (the
floor: about 0.5) and random pitches on the real rhythm against real (a measure that cannot
catch those is blind: it must reach 0.9). The per-feature gaps (answers minus real, in the real
excerpts' standard deviations) say *what* is off. It is a judge: never train on it.
"""

from __future__ import annotations

import numpy as np

from livegen.evaluate.config import EvalConfig, EvaluationError
from livegen.evaluate.cutting import cut_windows
from livegen.evaluate.features import FEATURES, Excerpt, features, random_pitches
from livegen.model.generate import continue_notes
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler
from livegen.music import codec

HOP_BARS = 4  # a call every 4 bars of each held-out piece: more calls than pieces, few shared bars
STYLE_TARGET = 0.70  # the bar: a classifier tells answers from real no better than this
MIN_PIECES = 4  # folds split by piece: fewer pieces cannot be cross-validated fairly


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 25) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression, by Newton's method."""
    design = np.hstack([x, np.ones((len(x), 1))])
    weights = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ weights, -30, 30)))
        gradient = design.T @ (p - y) + penalty * weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(len(weights))
        update = np.linalg.solve(hessian, gradient)
        weights -= update
        if np.abs(update).max() < 1e-8:
            break
    return weights


def two_sample_accuracy(first: np.ndarray, second: np.ndarray, first_groups, second_groups,
                        folds: int = 5, seed: int = 0) -> float:
    """Cross-validated balanced accuracy of telling ``first`` from ``second``; folds split by group."""
    x = np.vstack([first, second])
    y = np.concatenate([np.ones(len(first)), np.zeros(len(second))])
    groups = np.array([str(g) for g in first_groups] + [str(g) for g in second_groups])
    names = np.unique(groups)
    if len(names) < 2:
        raise EvaluationError(f"a two-sample test needs excerpts of at least 2 calls, got {len(names)}")
    order = np.random.default_rng(seed).permutation(names)
    fold_of = {name: index % min(folds, len(names)) for index, name in enumerate(order)}
    fold = np.array([fold_of[g] for g in groups])
    predicted = np.zeros(len(y))
    for number in np.unique(fold):
        train, test = fold != number, fold == number
        mean, spread = x[train].mean(axis=0), x[train].std(axis=0)
        spread[spread == 0] = 1.0
        weights = fit_logistic((x[train] - mean) / spread, y[train])
        scores = np.hstack([(x[test] - mean) / spread, np.ones((test.sum(), 1))]) @ weights
        predicted[test] = scores > 0
    return float(np.mean([np.mean(predicted[y == label] == label) for label in (0, 1)]))


def feature_gaps(answers: np.ndarray, real: np.ndarray) -> dict[str, dict[str, float]]:
    """Per feature: the answers' mean, the real mean, and their gap in real standard deviations."""
    gaps = {}
    for index, name in enumerate(FEATURES):
        spread = real[:, index].std()
        gap = (answers[:, index].mean() - real[:, index].mean()) / spread if spread > 0 else 0.0
        gaps[name] = {"answers": float(answers[:, index].mean()), "real": float(real[:, index].mean()),
                      "gap_sd": float(gap)}
    return gaps


def style_test(answers: list[Excerpt], real: list[Excerpt], seed: int = 0, splits: int = 5) -> dict:
    """The two-sample test of answers against real continuations, with its two controls."""
    answer_x = np.array([features(e) for e in answers])
    real_x = np.array([features(e) for e in real])
    real_groups = [e.group for e in real]
    rng = np.random.default_rng(seed)
    random_x = np.array([features(random_pitches(e, rng)) for e in real])
    names = sorted(set(real_groups))
    floors = []
    for split in range(splits):  # real against other real: calls split in two halves, several ways
        half = set(np.random.default_rng(seed + split).permutation(names)[:len(names) // 2])
        inside = np.array([g in half for g in real_groups])
        floors.append(two_sample_accuracy(real_x[inside], real_x[~inside],
                                          np.array(real_groups)[inside], np.array(real_groups)[~inside],
                                          seed=seed + split))
    return {
        "accuracy": two_sample_accuracy(answer_x, real_x, [e.group for e in answers], real_groups, seed=seed),
        "control_real_vs_real": float(np.mean(floors)),
        "control_random_pitches": two_sample_accuracy(random_x, real_x, real_groups, real_groups, seed=seed),
        "answers": len(answers),
        "real": len(real),
        "features": feature_gaps(answer_x, real_x),
    }


def style_fidelity(model: StepModel, key_mode: str, pieces, config: EvalConfig = EvalConfig()) -> dict:
    """The style test on calls cut every ``HOP_BARS`` bars from held-out ``(name, Piece)`` pairs.

    Too few pieces to cross-validate by piece: ``{"not_measured": why}``, and the rest of an
    evaluation goes on.
    """
    answers, real = [], []
    sampling = config.sampling()
    for name, piece in pieces:
        for call, excerpt in cut_windows(name, piece, config.call_bars, config.answer_bars, HOP_BARS):
            real.append(excerpt)
            meter = codec.Meter(((0, excerpt.bar_ticks),))
            for seed in range(config.seeds):
                result = continue_notes(model, key_mode, list(call), meter, config.answer_bars,
                                        Sampler(sampling, seed=seed))
                first_tick = (result.last_bar - config.answer_bars + 1) * excerpt.bar_ticks
                answers.append(Excerpt(result.notes, call, first_tick, config.answer_bars, excerpt.bar_ticks, name))
    pieces_cut = len({excerpt.group for excerpt in real})
    if pieces_cut < MIN_PIECES:
        return {"not_measured": f"the style test needs calls from at least {MIN_PIECES} held-out pieces of "
                                f"{config.call_bars + config.answer_bars}+ bars in one meter, got {pieces_cut}"}
    judged = style_test(answers, real)
    return {**judged, "pieces": pieces_cut, "hop_bars": HOP_BARS, "target": STYLE_TARGET,
            "met": judged["accuracy"] <= STYLE_TARGET}

