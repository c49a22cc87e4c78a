"""The player's controllers: knobs bound to settings, and MIDI learn of new bindings."""

from __future__ import annotations

from livegen.live.knobs import KNOBS, Knob


class Controls:
    """Which controller turns which knob, the knobs' last values, and the knobs still to be learned."""

    def __init__(self, knobs: tuple[tuple[int, str], ...], learn: tuple[str, ...]) -> None:
        self.knobs: dict[int, str] = dict(knobs)  # controller number -> knob name
        self.values: dict[str, object] = {}
        self.learning: list[str] = list(learn)

    def learn(self, control: int) -> tuple[str, int, list[str]] | None:
        """MIDI learn: the first controller moved is bound to the knob being learned; (name, controller, still to learn)."""
        if control in self.knobs:
            return None  # still the knob just learned
        name = self.learning.pop(0)
        self.knobs[control] = name
        return name, control, list(self.learning)

    def turn(self, control: int, cc_value: int) -> tuple[Knob, object]:
        """The knob a bound controller turns, and the setting it now gives."""
        knob = KNOBS[self.knobs[control]]
        if knob.target == "preset":
            return knob, cc_value
        value = knob.value(cc_value)
        self.values[knob.name] = value
        return knob, value
