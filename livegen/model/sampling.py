"""Choosing the next token: a grammar mask (only tokens that can follow), then temperature,
top-k, top-p and min-p over what is left, drawn from a seeded generator.

The same mask carries the musician's limits: a pitch range, a scale (key lock) and a polyphony cap.
A :class:`Blend` (what the session model learned of the player) is mixed into the model's
distribution before the mask: the draw then takes the mixture as far as the grammar allows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from livegen.errors import SettingError
from livegen.limits import Limit
from livegen.model.cadence import Cadence
from livegen.music import codec


TEMPERATURE = Limit("temperature", 0.0, 5.0, "between 0 (always the likeliest) and 5")
TOP_K = Limit("top-k", 0, codec.VOCAB_SIZE, f"between 0 (off) and {codec.VOCAB_SIZE}", integer=True)
TOP_P = Limit("top-p", 0.0, 1.0, "above 0 and at most 1", low_open=True)
MIN_P = Limit("min-p", 0.0, 1.0, "at least 0 and below 1", high_open=True)
DENSITY = Limit("density", 0.1, 10.0, "between 0.1 (sparser) and 10 (denser)")
POLYPHONY = Limit("polyphony cap", 1, 16, "between 1 and 16 notes", integer=True)


@dataclass(frozen=True)
class SamplingConfig:
    """How adventurous the answer is and which notes it may use."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    min_p: float = 0.0
    max_polyphony: int = 6
    # Odds of starting another note rather than moving on, times this; below 1, times this once
    # more for every note already sounding, so a model sure of its four voices thins too.
    density: float = 1.0
    pitch_low: int = codec.PITCH_LOW
    pitch_high: int = codec.PITCH_HIGH
    scale: frozenset[int] | None = field(default=None)
    cadence: bool = True  # an answer closes on its key's tonic chord in its last bar (livegen.model.cadence)

    def __post_init__(self) -> None:
        for limit, value in ((TEMPERATURE, self.temperature), (TOP_K, self.top_k), (TOP_P, self.top_p),
                             (MIN_P, self.min_p), (DENSITY, self.density), (POLYPHONY, self.max_polyphony)):
            limit.check(value)
        if not codec.PITCH_LOW <= self.pitch_low <= self.pitch_high <= codec.PITCH_HIGH:
            raise SettingError(
                f"pitch range must lie within {codec.PITCH_LOW}..{codec.PITCH_HIGH} with low <= high, "
                f"got {self.pitch_low}..{self.pitch_high}"
            )
        if self.scale is not None and (not self.scale or not set(self.scale) <= set(range(12))):
            raise SettingError(f"scale must be a non-empty set of pitch classes 0..11, got {sorted(self.scale)}")


MAX_BLEND_WEIGHT = 1.0 - 1e-6  # the model keeps a share: every token the grammar allows stays possible


class Blend(NamedTuple):
    """A distribution to mix into the model's: ``p = (1 - weight) p_model + weight p_blend``."""

    tokens: np.ndarray  # token ids (a token the model's vocabulary lacks is left out)
    probabilities: np.ndarray  # summing to 1
    weight: float  # 0 (the model alone) to below 1


def mix(logits: np.ndarray, blend: Blend) -> np.ndarray:
    """Log-probabilities of the mixture of the model's softmax and ``blend``, over the whole vocabulary.

    Only the allowed tokens are drawn from, so the draw takes the mixture given the grammar: the
    share of ``blend`` on tokens the grammar forbids here goes to neither side.
    """
    size = logits.shape[0]
    weight = min(blend.weight, MAX_BLEND_WEIGHT)
    model = logits.astype(np.float64)
    model -= model.max()
    np.exp(model, out=model)
    model *= (1.0 - weight) / model.sum()
    known = blend.tokens < size
    model[blend.tokens[known]] += weight * blend.probabilities[known]
    return np.log(model, out=model)


_PITCHES = np.arange(codec.PITCH_LOW, codec.PITCH_HIGH + 1)
_PITCH_SLICE = slice(codec.PITCH_BASE, codec.VELOCITY_BASE)
_POSITION_SLICE = slice(codec.POSITION_BASE, codec.PITCH_BASE)


class GrammarMask:
    """Which tokens may come next from a cursor's state, with the config's musical limits."""

    def __init__(self, config: SamplingConfig) -> None:
        self.config = config
        allowed = (_PITCHES >= config.pitch_low) & (_PITCHES <= config.pitch_high)
        if config.scale is not None:
            allowed &= np.isin(_PITCHES % 12, sorted(config.scale))
        self._pitch_allowed = allowed
        self._mask = np.zeros(codec.MODAL_VOCAB_SIZE, dtype=bool)  # both vocabularies: index by candidates

    def allowed(self, cursor: codec.Cursor, floor: int | None = None) -> np.ndarray:
        """Boolean mask over the modal vocabulary (the plain one is its first ``VOCAB_SIZE``
        tokens; the bars open with the cursor's bar token); the array is reused by the next call.

        ``floor`` (a tick on the cursor's time line) keeps new onsets at or after it: what was
        fed before it is the past, which a continuation can no longer play into.
        """
        mask = self._mask
        mask[:] = False
        phase = cursor.phase
        if phase == codec.START:
            mask[cursor.bar_token] = True
        elif phase == codec.AFTER_BAR:
            mask[cursor.bar_token] = True
            self._allow_positions(mask, cursor, first=self._first_position(cursor, 0, floor))
        elif phase == codec.AFTER_POSITION:
            self._allow_pitches(mask, cursor, lowest=codec.PITCH_LOW)
        elif phase == codec.AFTER_PITCH:
            mask[codec.VELOCITY_BASE:codec.DURATION_BASE] = True
        elif phase == codec.AFTER_VELOCITY:
            mask[codec.DURATION_BASE:codec.VOCAB_SIZE] = True
        else:
            mask[cursor.bar_token] = True
            self._allow_positions(mask, cursor, first=self._first_position(cursor, cursor.position + 1, floor))
            if len(cursor.sounding) < self.config.max_polyphony and (floor is None or cursor.onset >= floor):
                self._allow_pitches(mask, cursor, lowest=cursor.last_pitch + 1)
        return mask

    @staticmethod
    def _first_position(cursor: codec.Cursor, first: int, floor: int | None) -> int:
        return first if floor is None else max(first, floor - cursor.bar_start)

    def _allow_positions(self, mask: np.ndarray, cursor: codec.Cursor, first: int) -> None:
        """Onsets from ``first`` on where fewer notes than the cap still sound."""
        cap = self.config.max_polyphony
        if len(cursor.sounding) >= cap:
            ends = sorted((end for end, _ in cursor.sounding), reverse=True)
            first = max(first, ends[cap - 1] - cursor.bar_start)
        if first < cursor.bar_ticks:
            mask[codec.POSITION_BASE + first:codec.POSITION_BASE + cursor.bar_ticks] = True

    def _allow_pitches(self, mask: np.ndarray, cursor: codec.Cursor, lowest: int) -> None:
        pitches = mask[_PITCH_SLICE]
        pitches[:] = self._pitch_allowed
        pitches[:max(0, lowest - codec.PITCH_LOW)] = False
        for pitch in cursor.sounding_pitches():
            if codec.PITCH_LOW <= pitch <= codec.PITCH_HIGH:
                pitches[pitch - codec.PITCH_LOW] = False
        if cursor.phase == codec.AFTER_POSITION and not pitches.any():
            # The range or scale leaves nothing to play here: fall back to any free pitch
            # rather than a dead end (a POSITION must be followed by a note).
            pitches[:] = True
            for pitch in cursor.sounding_pitches():
                pitches[pitch - codec.PITCH_LOW] = False


class Sampler:
    """Draws tokens under a config and the grammar, from a seeded generator."""

    def __init__(self, config: SamplingConfig = SamplingConfig(), seed: int | None = None) -> None:
        self.config = config
        self.mask = GrammarMask(config)
        self.rng = np.random.default_rng(seed)
        self._density_bias = self._bias(config)

    @staticmethod
    def _bias(config: SamplingConfig) -> float:
        """Added to the logits of note-starting tokens: after the temperature it multiplies their odds by ``density``."""
        return float(np.log(config.density)) * max(config.temperature, 1e-3)

    def reconfigure(self, config: SamplingConfig) -> None:
        """Use new settings from the next token on; the random sequence carries on."""
        if config != self.config:
            self.config = config
            self.mask = GrammarMask(config)
            self._density_bias = self._bias(config)

    def _densify(self, logits: np.ndarray, cursor: codec.Cursor) -> np.ndarray:
        """Density: another note of this chord, or a new onset within the next beat, made likelier
        (or, below 1, less likely) than a later onset or the bar line.

        Thinning compounds with the notes sounding: a preset that hears voices is so sure of a
        chorale's fourth voice that one factor of 0.3 left 93% of its notes (16.2 against 17.5 a
        bar); compounded, 63% (11.1), mostly by fewer onsets.
        """
        logits = logits.copy()
        bias = self._density_bias
        if bias < 0:
            onset = cursor.onset
            bias *= max(1, sum(1 for end, _ in cursor.sounding if end > onset))
        if cursor.phase == codec.AFTER_NOTE:
            logits[_PITCH_SLICE] += bias
        first = codec.POSITION_BASE + max(cursor.position, -1) + 1
        logits[first:min(first + codec.TICKS_PER_BEAT, codec.PITCH_BASE)] += bias
        return logits

    def choose(self, logits: np.ndarray, cursor: codec.Cursor, floor: int | None = None,
               blend: Blend | None = None, barred: np.ndarray | None = None, cadence: Cadence | None = None) -> int:
        """The next token after ``logits`` (mixed with ``blend``, if any), allowed by the grammar at ``cursor``
        (onsets from ``floor`` on) and by an answer's ``cadence`` in its last bar, a pitch in ``barred`` (an
        :class:`~livegen.model.echo.EchoGuard`'s) not among them unless nothing else may follow."""
        if blend is not None:
            logits = mix(logits, blend)
        if self._density_bias and cursor.phase in (codec.AFTER_BAR, codec.AFTER_NOTE):
            logits = self._densify(logits, cursor)
        allowed = self.mask.allowed(cursor, floor)[:logits.shape[0]]  # the model's own vocabulary
        if cadence is not None:
            allowed = cadence.allowed(cursor, allowed)
        if barred is not None and barred.size:
            left = allowed.copy()
            left[codec.PITCH_BASE - codec.PITCH_LOW + barred] = False
            if left.any():
                allowed = left
        token = draw(logits, allowed, self.config, self.rng)
        return token if cadence is None else cadence.settle(cursor, token)


def draw(logits: np.ndarray, allowed: np.ndarray, config: SamplingConfig, rng: np.random.Generator) -> int:
    """Sample one allowed token from logits with temperature, top-k, min-p and top-p."""
    # Array methods, not np.* functions: on the 20-200 allowed tokens of a step the
    # functions' dispatch costs more than the arithmetic (about halves a draw's time).
    candidates = allowed.nonzero()[0]
    scores = logits[candidates].astype(np.float64)
    best = scores.argmax()
    if config.temperature == 0.0 or candidates.size == 1:
        return int(candidates[best])
    scores -= scores[best]
    scores /= config.temperature
    np.exp(scores, out=scores)
    if config.top_k and config.top_k < candidates.size:
        scores[scores < np.partition(scores, -config.top_k)[-config.top_k]] = 0.0
    if config.min_p:
        scores[scores < config.min_p] = 0.0  # the best scores 1.0 after the shift above
    if config.top_p < 1.0:
        order = scores.argsort()[::-1]
        cumulative = np.add.accumulate(scores[order])
        keep = int(cumulative.searchsorted(config.top_p * cumulative[-1])) + 1
        scores[order[keep:]] = 0.0
    cumulative = np.add.accumulate(scores)
    return int(candidates[cumulative.searchsorted(rng.random() * cumulative[-1], side="right")])
