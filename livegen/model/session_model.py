"""The player's own material, learned during a session: a variable-order n-gram mixed into the LSTM.

Each of the player's tokens, as the model state hears it (in the key the preset hears the player
in), is counted after each of its contexts: the last 1 to ``ORDERS`` tokens before it. Velocities
are left out of contexts and are never predicted: the answer follows the player's dynamics by its
own rule (:mod:`livegen.music.dynamics`), and a player's sixteen loudness bins would split every
context sixteen ways. Both bar tokens count as ``BAR``, so what was learned under one preset
serves another that tells the mode.

What it predicts after a context is a Witten-Bell chain whose last link is the LSTM: the longest
context seen keeps ``n / (n + escape * u)`` of the probability for what followed it (``n`` times
seen, ``u`` different tokens after it) and hands the rest to the next shorter context, and what
the shortest hands on goes to the LSTM. The share kept by the contexts is the confidence; a
context never seen keeps nothing, and leaves the LSTM alone.

The table is bounded: at most ``CONTEXTS_KEPT`` contexts, the least recently heard dropped first,
and a context's counts are halved once they pass ``MAX_TOTAL``, so that what the player plays now
outweighs what they played an hour ago. Pure: no I/O (``livegen.model.memory`` keeps it in a file).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from livegen.model.sampling import Blend
from livegen.music import codec
from livegen.errors import SettingError

ORDERS = 6  # the longest context, in tokens (velocities left out)
CONTEXTS_KEPT = 16384
MAX_TOTAL = 255  # a context's counts are halved above this
ESCAPE = 4.0  # Witten-Bell: how much a context hands on for each different token seen after it
DEFAULT_ADAPT = 0.75

Context = tuple  # the last tokens a stream heard, as the session model reads them: at most ORDERS


def check_adapt(adapt: float) -> float:
    """``adapt`` if it lies in 0..1, else a SettingError a musician understands."""
    if not 0.0 <= adapt <= 1.0:
        raise SettingError(f"how much of your playing goes into the answer (adapt) must be between 0 and 1, got {adapt}")
    return adapt


def counted(token: int) -> int | None:
    """``token`` as the session model counts it: None for a velocity, ``BAR`` for either bar token."""
    if codec.VELOCITY_BASE <= token < codec.DURATION_BASE:
        return None
    return codec.BAR if token == codec.BAR_MINOR else token


def extended_by(context: Context, token: int) -> Context:
    """``context`` after one more token of the stream (a velocity leaves it as it is)."""
    token = counted(token)
    return context if token is None else (context + (token,))[-ORDERS:]


def extended_by_all(context: Context, tokens) -> Context:
    """``context`` after each of ``tokens``."""
    for token in tokens:
        context = extended_by(context, int(token))
    return context


class SessionModel:
    """Counts of what followed each context in the player's tokens, and the blend they predict."""

    def __init__(self, escape: float = ESCAPE, capacity: int = CONTEXTS_KEPT) -> None:
        if escape <= 0:
            raise ValueError(f"escape must be above 0, got {escape}")
        if capacity < 1:
            raise ValueError(f"the session model must keep at least one context, got {capacity}")
        self.escape = escape
        self.capacity = capacity
        # context -> [times seen, {token: count}], least recently heard first
        self._contexts: OrderedDict[Context, list] = OrderedDict()

    def __len__(self) -> int:
        return len(self._contexts)

    def learn(self, context: Context, token: int) -> None:
        """The player played ``token`` after ``context``: count it after each of its last 1..ORDERS tokens."""
        token = counted(token)
        if token is None:
            return
        contexts = self._contexts
        for order in range(1, len(context) + 1):
            key = context[-order:]
            entry = contexts.get(key)
            if entry is None:
                entry = contexts[key] = [0, {}]
                if len(contexts) > self.capacity:
                    contexts.popitem(last=False)
            else:
                contexts.move_to_end(key)
            counts = entry[1]
            counts[token] = counts.get(token, 0) + 1
            entry[0] += 1
            if entry[0] > MAX_TOTAL:
                self._halve(entry)

    @staticmethod
    def _halve(entry: list) -> None:
        counts = {token: count // 2 for token, count in entry[1].items() if count > 1}
        entry[1] = counts
        entry[0] = sum(counts.values())

    def predict(self, context: Context) -> tuple[dict[int, float], float]:
        """What the player's contexts say comes next after ``context``: a distribution (token -> p) and the
        confidence in it, the share of the chain the contexts keep (0 when no context was seen)."""
        contexts, escape = self._contexts, self.escape
        blended: dict[int, float] = {}
        left = 1.0  # the share the longer contexts handed on
        for order in range(len(context), 0, -1):
            entry = contexts.get(context[-order:])
            if entry is None or not entry[0]:
                continue
            total, counts = entry
            kept = total / (total + escape * len(counts))
            scale = left * kept / total
            for token, count in counts.items():
                blended[token] = blended.get(token, 0.0) + scale * count
            left *= 1.0 - kept
        confidence = 1.0 - left
        if confidence <= 0.0:
            return {}, 0.0
        return {token: p / confidence for token, p in blended.items()}, confidence

    def blend(self, context: Context, adapt: float, bar_token: int = codec.BAR) -> Blend | None:
        """The blend the sampler mixes in after ``context`` at weight ``adapt`` times the confidence; None
        when there is nothing to mix (``adapt`` 0, or a context never seen). ``BAR`` becomes ``bar_token``."""
        if adapt <= 0.0:
            return None
        distribution, confidence = self.predict(context)
        if confidence <= 0.0:
            return None
        tokens = np.fromiter(distribution, dtype=np.intp, count=len(distribution))
        if bar_token != codec.BAR:
            tokens[tokens == codec.BAR] = bar_token
        return Blend(tokens, np.fromiter(distribution.values(), dtype=np.float64, count=len(distribution)),
                     adapt * confidence)

    def forget(self) -> None:
        """Forget everything learned."""
        self._contexts.clear()

    def entries(self):
        """``(context, {token: count})`` pairs, least recently heard first (for saving)."""
        return ((context, dict(entry[1])) for context, entry in self._contexts.items())

    def load(self, entries) -> None:
        """Take ``(context, {token: count})`` pairs in this order (the last ones kept if there are too many)."""
        self.forget()
        for context, counts in entries:
            self._contexts[tuple(context)] = [sum(counts.values()), dict(counts)]
            if len(self._contexts) > self.capacity:
                self._contexts.popitem(last=False)
