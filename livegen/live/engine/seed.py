"""The seed buffer (the last bars of player and model notes) and the sampler tuned to the call's key."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from livegen.music import codec
from livegen.music.key import Key, estimate_key
from livegen.live.engine.performance import HeardNote

MAX_HISTORY_NOTES = 256  # the seed buffer's bound: 8 dense bars; a flood of notes must not grow it


class Sounded(NamedTuple):
    """A note as a pitch-class histogram counts it."""

    pitch: int
    duration: float


class SeedBuffer:
    """Encoded notes, player and model, that a re-prime rebuilds the model state from."""

    def __init__(self, grid) -> None:
        self.grid = grid
        self.notes: list[HeardNote] = []

    def clear(self) -> None:
        self.notes.clear()

    def add(self, note: HeardNote) -> None:
        self.notes.append(note)
        del self.notes[:-MAX_HISTORY_NOTES]

    def remember(self, timed, end: float) -> None:
        """A model note that sounded (until ``end``), into the seed buffer."""
        self.add(HeardNote(timed.start, timed.pitch, timed.velocity, end, by_player=False))

    def keep_answer(self, planned, now: float) -> None:
        """An answer's notes that began before ``now``, cut there; the next re-prime bounds the buffer."""
        self.notes.extend(HeardNote(p.timed.start, p.timed.pitch, p.timed.velocity, min(p.timed.end, now),
                                    by_player=False) for p in planned if p.timed.start < now)

    def keep_from(self, tick: int) -> None:
        """Forget the notes that ended before ``tick``."""
        tick_of = self.grid.tick_of
        self.notes = [n for n in self.notes if n.end is None or tick_of(n.end) > tick]

    def player_sounds(self) -> list[Sounded]:
        """The player's finished notes as the key estimate weighs them: pitch and length in seconds.

        Seconds, not ticks: the estimate only compares lengths with each other, and this costs no
        tick conversion per note at the phrase end (128 conversions took ~0.5 ms for 32 bars).
        """
        longest = codec.DURATIONS[-1] / codec.TICKS_PER_BEAT * self.grid.seconds_per_beat
        return [Sounded(n.pitch, min(n.end - n.start, longest)) for n in self.notes
                if n.by_player and n.end is not None]

    def player_key(self) -> Key:
        """The key of the player's finished notes here, as a call's is heard (a lone line's ending counts)."""
        return estimate_key(self.player_sounds(), self.player_ending())

    def player_ending(self) -> int | None:
        """The player's last pitch if their notes here are one line (no two struck within a grid tick), else None."""
        struck = self.grid.struck(n for n in self.notes if n.by_player and n.end is not None)
        if not struck or len({onset for onset, _ in struck}) < len(struck):
            return None
        return struck[-1][1]


class Tuning:
    """The player's sampling settings where the model hears them: range and key lock moved by the call's key."""

    def __init__(self, sampler, key_lock: bool, seed: SeedBuffer) -> None:
        self.sampler = sampler
        self.settings = sampler.config  # as the player set them, in real pitches; the sampler's are moved by the key
        self.key_lock = key_lock
        self.seed = seed

    @property
    def closes(self) -> bool:
        """Whether answers close on the call's tonic (the player's cadence setting, never a knob's)."""
        return self.settings.cadence

    def turn(self, knob, value) -> None:
        """A sampling knob moved: the player's settings change (the next retune moves them by the key)."""
        self.settings = knob.apply(self.settings, value)

    def lock_key(self, locked: bool) -> None:
        self.key_lock = locked

    def choose(self, logits, cursor, floor, blend, barred, cadence) -> int:
        """A token from the sampler as tuned (the one part that draws from it)."""
        return self.sampler.choose(logits, cursor, floor, blend, barred, cadence)

    def retune(self, key: Key | None, shift: int) -> None:
        scale = None
        if self.key_lock:
            key = key or self.seed.player_key()
            scale = None if key is None else frozenset((pc + shift) % 12 for pc in key.scale())
        low, high = (min(codec.PITCH_HIGH, max(codec.PITCH_LOW, pitch + shift))
                     for pitch in (self.settings.pitch_low, self.settings.pitch_high))
        self.sampler.reconfigure(dataclasses.replace(self.settings, pitch_low=low, pitch_high=high, scale=scale))
