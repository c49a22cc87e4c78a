"""Dynamics: an answer played at the player's level, keeping the model's own accents around it.

The bundled presets learned from scores without dynamics, so on their own they answer every call
at one velocity. A musician who plays softly expects a soft answer. The rule: the player's level
is the mean velocity of their last ``LEVEL_NOTES`` notes; the model's level is the mean of what it
has chosen so far this session; each answer note is moved by ``follow`` times the gap between
the two. So ``follow=1`` answers at the player's level with the model's accents (its deviations
from its own level) intact, and ``follow=0`` keeps the model's velocities as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from livegen.errors import SettingError

LEVEL_NOTES = 8  # the player's level: their last few notes, so a crescendo is followed within a phrase
DEFAULT_FOLLOW = 1.0


def check_follow(follow: float) -> float:
    """``follow`` if it lies in 0..1, else a SettingError a musician understands."""
    if not 0.0 <= follow <= 1.0:
        raise SettingError(f"how closely the answer follows your dynamics must be between 0 and 1, got {follow}")
    return follow


def level(velocities) -> float | None:
    """The player's level: the mean velocity of their last ``LEVEL_NOTES`` notes (None if none)."""
    recent = list(velocities)[-LEVEL_NOTES:]
    return sum(recent) / len(recent) if recent else None


@dataclass
class Dynamics:
    """Moves the model's velocities towards the player's level, note by note, over a session.

    The model's level is the running mean of every velocity it has chosen this session: for a
    preset without dynamics it is its one velocity from the first note on; for one with dynamics
    it settles within the first answer, and from then on each accent keeps its distance from it.
    """

    follow: float = DEFAULT_FOLLOW
    chosen_total: int = 0
    chosen_count: int = 0

    def __post_init__(self) -> None:
        check_follow(self.follow)

    def set_follow(self, follow: float) -> None:
        """The dynamics knob: from the next note booked."""
        self.follow = check_follow(follow)

    def velocity(self, model_velocity: int, player_level: float | None) -> int:
        """The velocity to play for a note the model chose at ``model_velocity``."""
        self.chosen_total += model_velocity
        self.chosen_count += 1
        if player_level is None or self.follow == 0.0:
            return model_velocity
        model_level = self.chosen_total / self.chosen_count
        moved = model_velocity + self.follow * (player_level - model_level)
        return max(1, min(127, round(moved)))
