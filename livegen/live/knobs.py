"""Knobs: controllers (CC numbers) bound to the companion's settings, saved in a small JSON file.

A knob's value 0..127 is spread over the setting's musical range; a change takes effect at once:
from the next sampling step, on the answer under way (its length), or on the silence the player
is in (phrase end).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from livegen.errors import SettingError


@dataclass(frozen=True)
class Knob:
    """A setting a controller can turn: its range, and where it lives."""

    name: str
    low: float
    high: float
    target: str  # "sampling", "companion", "preset" (the session's list of presets) or "memory" (what it learned)
    field: str
    integer: bool = False
    switch: bool = False  # on at 64 and above
    choices: tuple[str, ...] = ()  # the controller's range split evenly between these
    logarithmic: bool = False  # each step of the controller multiplies the setting by the same factor

    def value(self, cc_value: int):
        """The setting for a controller value 0..127."""
        if self.switch:
            return cc_value >= 64
        if self.choices:
            return self.choices[min(len(self.choices) - 1, cc_value * len(self.choices) // 128)]
        if self.logarithmic:
            return self.low * (self.high / self.low) ** (cc_value / 127)
        value = self.low + (self.high - self.low) * cc_value / 127
        return round(value) if self.integer else value

    def apply(self, config, value):
        """``config`` with this knob's field set; a pitch range stays a range (the other end moves along)."""
        changes = {self.field: value}
        if self.field == "pitch_low":
            changes["pitch_high"] = max(value, config.pitch_high)
        elif self.field == "pitch_high":
            changes["pitch_low"] = min(value, config.pitch_low)
        return replace(config, **changes)


KNOBS = {knob.name: knob for knob in (
    Knob("temperature", 0.1, 2.0, "sampling", "temperature"),
    Knob("top-p", 0.5, 1.0, "sampling", "top_p"),
    Knob("polyphony", 1, 8, "sampling", "max_polyphony", integer=True),
    Knob("density", 0.25, 4.0, "sampling", "density", logarithmic=True),
    Knob("lowest", 21, 108, "sampling", "pitch_low", integer=True),
    Knob("highest", 21, 108, "sampling", "pitch_high", integer=True),
    Knob("answer-bars", 1, 16, "companion", "answer_bars", integer=True),
    Knob("phrase-end", 0.25, 4.0, "companion", "phrase_end_beats"),
    Knob("key-lock", 0, 1, "companion", "key_lock", switch=True),
    Knob("yield", 0, 1, "companion", "yield_to_player", switch=True),
    Knob("mode", 0, 1, "companion", "mode", choices=("answer", "accompany")),
    Knob("play", 0, 1, "companion", "active", switch=True),
    Knob("dynamics", 0, 1, "companion", "follow_dynamics"),
    Knob("adapt", 0, 1, "companion", "adapt"),
    Knob("forget", 0, 1, "memory", "forget", switch=True),  # at 64 and above: forget what it learned of you
    Knob("preset", 0, 1, "preset", "preset"),
)}


def parse_binding(text: str) -> tuple[int, str]:
    """``NAME=CC`` (as on the command line) to ``(cc, name)``, with a message naming what is wrong."""
    name, _, number = text.partition("=")
    if name not in KNOBS:
        raise SettingError(f"no knob called {name!r}; knobs: {', '.join(KNOBS)}")
    if not number.isdigit() or not 0 <= int(number) <= 127:
        raise SettingError(f"knob {name!r} needs a controller number 0..127, as in {name}=21; got {number!r}")
    return int(number), name


def load(path: Path) -> dict[int, str]:
    """A knob file: ``{"temperature": 21, ...}``; errors name the file and the entry."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SettingError(f"cannot read the knob file {path}: {error}") from error
    if not isinstance(data, dict):
        raise SettingError(f"the knob file {path} must hold an object like {{\"temperature\": 21}}")
    return dict(parse_binding(f"{name}={number}") for name, number in data.items())


def save(path: Path, bindings: dict[int, str]) -> None:
    """Write bindings as ``{"name": cc}``, sorted, for people to read and edit."""
    data = {name: cc for cc, name in sorted(bindings.items(), key=lambda item: item[1])}
    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
