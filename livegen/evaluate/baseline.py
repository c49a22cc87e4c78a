"""An order-3 Markov model over tokens: the yardstick a trained LSTM's held-out loss must beat.

Witten-Bell interpolation: the distribution after a context of three tokens mixes that context's
counts with the distribution after its last two tokens, and so on down to the unigram and
finally the uniform distribution over the whole vocabulary. Each mix weighs a context's counts
by how often it was seen against how many different tokens followed it, so every distribution is
proper (sums to 1) and no token has zero probability: a fair comparison with a softmax.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from livegen.evaluate.config import EvaluationError
from livegen.music import codec

ORDER = 3


class _Followers:
    """What followed one context: tokens, their counts, and the Witten-Bell weight of the counts."""

    __slots__ = ("tokens", "probabilities", "weight")

    def __init__(self, counts: Counter) -> None:
        self.tokens = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        total = values.sum()
        self.probabilities = values / total
        self.weight = total / (total + len(counts))


class MarkovModel:
    """Interpolated order-``order`` Markov model fitted on token streams."""

    def __init__(self, vocab_size: int = codec.VOCAB_SIZE, order: int = ORDER) -> None:
        if order < 0:
            raise ValueError(f"order must be >= 0, got {order}")
        self.vocab_size = vocab_size
        self.order = order
        self._followers: list[dict[tuple[int, ...], _Followers]] = [{} for _ in range(order + 1)]

    def fit(self, streams) -> MarkovModel:
        """Count every target of every stream (the first token is the start, not a target)."""
        counts: list[dict[tuple[int, ...], Counter]] = [defaultdict(Counter) for _ in range(self.order + 1)]
        for context, token in self._events(streams):
            for length in range(self.order + 1):
                counts[length][context[len(context) - length:]][token] += 1
        self._followers = [
            {context: _Followers(counter) for context, counter in table.items()} for table in counts
        ]
        return self

    def _events(self, streams):
        """``(context, target)`` pairs; contexts before a stream's start are padded with ``PAD``."""
        for stream in streams:
            padded = [codec.PAD] * self.order + [int(token) for token in stream]
            for index in range(self.order + 1, len(padded)):
                yield tuple(padded[index - self.order:index]), padded[index]

    def distribution(self, context) -> np.ndarray:
        """Probabilities of every token after ``context`` (its last ``order`` tokens count)."""
        context = tuple(int(token) for token in context)
        context = (codec.PAD,) * self.order + context
        context = context[len(context) - self.order:]
        probabilities = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for length in range(self.order + 1):
            followers = self._followers[length].get(context[len(context) - length:])
            if followers is None:
                break  # a longer context than an unseen one is unseen too
            probabilities *= 1.0 - followers.weight
            probabilities[followers.tokens] += followers.weight * followers.probabilities
        return probabilities

    def loss_per_token(self, streams) -> float:
        """Mean negative log-likelihood (nats) of every target of ``streams``."""
        total, count = 0.0, 0
        for context, token in self._events(streams):
            total -= math.log(self.distribution(context)[token])
            count += 1
        if count == 0:
            raise EvaluationError("no targets to evaluate: every stream is shorter than 2 tokens")
        return total / count
