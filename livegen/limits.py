"""A setting's allowed range, written once: the config that owns the setting checks values against it,
and the command line's option reads it (``livegen.cli.options.LimitType``), so both say the same."""

from __future__ import annotations

from dataclasses import dataclass
from livegen.errors import SettingError


@dataclass(frozen=True)
class Limit:
    """``low``..``high`` (either end open or not) and how a player reads that range."""

    name: str  # as the player knows the setting: "top-k"
    low: float
    high: float
    rule: str  # the range in words, after "must be": "between 0 (off) and 225"
    integer: bool = False
    low_open: bool = False
    high_open: bool = False

    def holds(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def check(self, value):
        """``value`` itself when it lies in the range; otherwise a SettingError that names it."""
        if not self.holds(value):
            raise SettingError(f"{self.name} must be {self.rule}, got {value:g}")
        return value
