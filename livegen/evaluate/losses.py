"""Held-out loss of a preset and of an order-3 Markov model, in nats per token."""

from __future__ import annotations

import math

import numpy as np

from livegen.evaluate.baseline import MarkovModel
from livegen.evaluate.config import EvaluationError
from livegen.model.runtime import StepModel
from livegen.music.hearing import hear


def model_loss_per_token(model: StepModel, heard) -> float:
    """Mean negative log-likelihood (nats) of every target of the ``heard`` pieces (:class:`Heard`) under the step model."""
    total, count = 0.0, 0
    for piece in heard:
        stream = piece.tokens
        state = model.initial_state()
        for token, target, voices in zip(stream[:-1], stream[1:], piece.voices):
            logits = model.step(int(token), state, voices).astype(np.float64)
            top = logits.max()
            total += top + math.log(np.exp(logits - top).sum()) - logits[target]
            count += 1
    if count == 0:
        raise EvaluationError("no targets to measure the loss on: every held-out piece is empty")
    return total / count


def held_out_losses(model: StepModel, preset, pieces, training_pieces) -> dict:
    """The model's and an order-3 Markov model's loss on ``pieces``, and the card's validation losses.

    ``training_pieces`` (``(name, Piece)``, or None when not at hand) fit the Markov model.
    """
    heard = [hear(preset.key_mode, piece.notes, piece.meter) for piece in pieces]
    streams = [piece.tokens for piece in heard]
    losses = {"model": model_loss_per_token(model, heard), "pieces": len(streams)}
    metrics = preset.config.get("metrics", {})
    losses["card_model_val"] = metrics.get("val_loss_per_token")
    losses["card_markov3_val"] = metrics.get("markov3_val_loss_per_token")
    if training_pieces is None:
        losses["markov3"] = None
        losses["markov3_note"] = "no training data at hand: see the card's validation losses"
        return losses
    training_streams = [hear(preset.key_mode, piece.notes, piece.meter).tokens
                        for _, piece in training_pieces]
    markov = MarkovModel(model.vocab_size)
    losses["markov3"] = markov.fit(training_streams).loss_per_token(streams)
    losses["markov3_note"] = "fitted on the training pieces, measured on the evaluation's pieces"
    return losses
