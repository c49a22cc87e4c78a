"""How an evaluation runs: how many calls, keys and seeds, and how the preset samples its answers."""

from __future__ import annotations

from dataclasses import dataclass

from livegen.errors import LivegenError
from livegen.model.sampling import SamplingConfig

# Shifts (semitones) that move each call into other keys: sharps and flats, up and down.
KEY_SHIFTS = (0, 5, -2, 3, -4, 1, -5, 2, 4, -1, 6, -3)


class EvaluationError(LivegenError, ValueError):
    """The evaluation cannot run; the message says why."""


@dataclass(frozen=True)
class EvalConfig:
    """How many calls, keys and seeds, and how the preset samples its answers."""

    call_bars: int = 2
    answer_bars: int = 8
    keys: int = 6
    seeds: int = 3
    temperature: float = 0.95
    top_p: float = 0.95
    cadence: bool = True  # answers close on the call's tonic chord (livegen.model.cadence)
    max_calls: int = 12
    greedy_window: int = 40
    baseline_keys: int = 2  # the greedy baseline costs ~40 steps a token: fewer keys (0: none)

    def __post_init__(self) -> None:
        for name, lowest, highest in (("call_bars", 1, 16), ("answer_bars", 1, 64),
                                      ("keys", 1, len(KEY_SHIFTS)), ("seeds", 1, 100),
                                      ("max_calls", 1, 10_000), ("greedy_window", 1, 10_000),
                                      ("baseline_keys", 0, len(KEY_SHIFTS))):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
                raise EvaluationError(f"{name} must be between {lowest} and {highest}, got {value!r}")
        self.sampling()  # raises on bad values

    def sampling(self) -> SamplingConfig:
        """How the preset samples every answer of this evaluation."""
        return SamplingConfig(temperature=self.temperature, top_p=self.top_p, cadence=self.cadence)
