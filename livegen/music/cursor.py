"""The token grammar: a :class:`Cursor` reads tokens one at a time and knows where in the music it stands."""

from __future__ import annotations

from .meter import Meter
from .notes import PITCH_LOW, Note
from .vocabulary import (
    BAR,
    BAR_MINOR,
    BARS,
    DURATION_BASE,
    DURATIONS,
    PITCH_BASE,
    POSITION_BASE,
    VELOCITY_BASE,
    VOCAB_SIZE,
    bin_velocity,
    describe,
)

# What the cursor expects next.
START = "start"  # nothing read yet: only a bar token
AFTER_BAR = "after-bar"  # BAR or POSITION
AFTER_POSITION = "after-position"  # PITCH
AFTER_PITCH = "after-pitch"  # VELOCITY
AFTER_VELOCITY = "after-velocity"  # DURATION
AFTER_NOTE = "after-note"  # a higher PITCH at the same onset, a later POSITION, or BAR


class Cursor:
    """Reads tokens one at a time, checks the grammar, and knows where in the music it stands.

    ``advance`` returns the :class:`Note` a ``DURATION`` token completes (else ``None``) and
    raises ``ValueError`` naming any token that cannot come next. Either bar token opens a bar;
    ``bar_token`` is the one this stream writes and samples (``BAR_MINOR`` for a minor piece in
    the modal vocabulary).
    """

    def __init__(self, meter: Meter = Meter(), bar_token: int = BAR) -> None:
        if bar_token not in BARS:
            raise ValueError(f"a bar opens with BAR or BAR_MINOR, not {describe(bar_token)}")
        self.meter = meter
        self.bar_token = bar_token
        self.phase = START
        self.bar = -1
        self.bar_start = 0
        self.bar_ticks = meter.bar_ticks(0)
        self.position = -1
        self.last_pitch = -1
        self.pending_pitch = 0
        self.pending_velocity = 0
        self.sounding: list[tuple[int, int]] = []  # (end tick, pitch) of notes still sounding
        self.struck: list[int] = []  # pitches struck at the current onset, rising
        self.previous_struck: tuple[int, ...] = ()  # pitches the onset before it struck
        self.tokens_read = 0

    @property
    def onset(self) -> int:
        """Absolute tick of the current onset (or of the bar start before any onset)."""
        return self.bar_start + max(self.position, 0)

    def copy(self) -> Cursor:
        twin = Cursor.__new__(Cursor)
        twin.__dict__.update(self.__dict__)
        twin.sounding = list(self.sounding)
        twin.struck = list(self.struck)
        return twin

    def sounding_pitches(self) -> list[int]:
        """Pitches still sounding at the current onset."""
        return [pitch for _, pitch in self.sounding]

    def advance(self, token: int) -> Note | None:
        phase = self.phase
        if token == BAR or token == BAR_MINOR:
            if phase not in (START, AFTER_BAR, AFTER_NOTE):
                raise self._misplaced(token)
            self.bar += 1
            self.bar_start = self.meter.bar_start(self.bar)
            self.bar_ticks = self.meter.bar_ticks(self.bar)
            self.position = -1
            self.phase = AFTER_BAR
        elif POSITION_BASE <= token < PITCH_BASE:
            position = token - POSITION_BASE
            if phase not in (AFTER_BAR, AFTER_NOTE):
                raise self._misplaced(token)
            if position <= self.position:
                raise ValueError(
                    f"POSITION({position}) does not come after position {self.position} "
                    f"(token {self.tokens_read})"
                )
            if position >= self.bar_ticks:
                raise ValueError(
                    f"POSITION({position}) lies beyond the bar of {self.bar_ticks} ticks "
                    f"(token {self.tokens_read})"
                )
            self.position = position
            self.last_pitch = -1
            onset = self.bar_start + position
            self.sounding = [entry for entry in self.sounding if entry[0] > onset]
            if self.struck:
                self.previous_struck = tuple(self.struck)
                self.struck = []
            self.phase = AFTER_POSITION
        elif PITCH_BASE <= token < VELOCITY_BASE:
            pitch = token - PITCH_BASE + PITCH_LOW
            if phase not in (AFTER_POSITION, AFTER_NOTE):
                raise self._misplaced(token)
            if pitch <= self.last_pitch:
                raise ValueError(
                    f"PITCH({pitch}) does not rise above PITCH({self.last_pitch}) at the same "
                    f"onset (token {self.tokens_read})"
                )
            self.pending_pitch = pitch
            self.phase = AFTER_PITCH
        elif VELOCITY_BASE <= token < DURATION_BASE:
            if phase != AFTER_PITCH:
                raise self._misplaced(token)
            self.pending_velocity = bin_velocity(token - VELOCITY_BASE)
            self.phase = AFTER_VELOCITY
        elif DURATION_BASE <= token < VOCAB_SIZE:
            if phase != AFTER_VELOCITY:
                raise self._misplaced(token)
            note = Note(self.onset, self.pending_pitch, self.pending_velocity,
                        DURATIONS[token - DURATION_BASE])
            self.last_pitch = note.pitch
            self.sounding.append((note.end, note.pitch))
            self.struck.append(note.pitch)
            self.phase = AFTER_NOTE
            self.tokens_read += 1
            return note
        else:
            raise ValueError(
                f"token {token} cannot be read here: {describe(token)} "
                f"(token {self.tokens_read})"
            )
        self.tokens_read += 1
        return None

    def _misplaced(self, token: int) -> ValueError:
        return ValueError(
            f"{describe(token)} cannot follow in state {self.phase} (token {self.tokens_read})"
        )
