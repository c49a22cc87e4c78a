"""The player's performance as it is heard: keys held, the pedal, the call, and notes waiting to be encoded."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from livegen.music import codec
from livegen.music.dynamics import LEVEL_NOTES, level


@dataclass
class HeardNote:
    """A player or model note in seconds; ``end`` is None while the key is held."""

    start: float
    pitch: int
    velocity: int
    end: float | None = None
    by_player: bool = True


class Performance:
    """Keys and pedal as the player moves them, and which finished notes can go into the model, in onset order."""

    def __init__(self, grid) -> None:
        self.grid = grid
        self.held: dict[int, HeardNote] = {}
        self.sustained: list[HeardNote] = []
        self.sustain = False
        self.call: list[HeardNote] = []
        self.waiting: list[HeardNote] = []  # player notes heard but not yet encoded
        self.last_sound = 0.0
        self.velocities: deque[int] = deque(maxlen=LEVEL_NOTES)  # the player's last notes: their level

    @property
    def level(self) -> float | None:
        """How loud the player is playing now (None before their first note)."""
        return level(self.velocities)

    def key_down(self, pitch: int, velocity: int, at: float) -> None:
        """A key goes down: the same key still held or sustained ends first."""
        if pitch in self.held:
            self._release(self.held.pop(pitch), at)
        for note in [n for n in self.sustained if n.pitch == pitch]:
            self.sustained.remove(note)
            self._release(note, at)
        note = HeardNote(at, pitch, velocity)
        self.velocities.append(velocity)
        self.held[pitch] = note
        self.call.append(note)
        self.waiting.append(note)

    def key_up(self, pitch: int, at: float) -> None:
        note = self.held.pop(pitch, None)
        if note is None:
            return  # a release for a key we never heard go down
        if self.sustain:
            self.sustained.append(note)
        else:
            self._release(note, at)

    def pedal(self, down: bool, at: float) -> None:
        self.sustain = down
        if not down:
            for note in self.sustained:
                self._release(note, at)
            self.sustained.clear()

    def release_all(self, at: float) -> None:
        """Every held and sustained key up, the pedal up."""
        for pitch in list(self.held):
            self._release(self.held.pop(pitch), at)
        for note in self.sustained:
            self._release(note, at)
        self.sustained.clear()
        self.sustain = False

    def _release(self, note: HeardNote, at: float) -> None:
        note.end = at
        self.last_sound = max(self.last_sound, at)

    def silent(self, now: float, seconds: float) -> bool:
        """No key sounds, and none has for ``seconds``."""
        return not self.held and not self.sustained and now - self.last_sound >= seconds

    def ready(self, now: float) -> tuple[list[HeardNote], int]:
        """Waiting notes that can be encoded, in onset order, and the tick before which all is known."""
        now_tick = round(self.grid.tick_of(now))
        ready = []
        for note in self._in_onset_order():
            onset = self.grid.onset_tick(note)
            if onset >= now_tick:
                break
            if note.end is None and now_tick - onset < codec.DURATIONS[-1]:
                return ready, onset  # still held: later notes must wait for it
            ready.append(note)
        return ready, now_tick

    def take_ready(self, now: float) -> list[HeardNote]:
        """The notes that can be encoded now, no longer waiting."""
        ready = self.ready(now)[0]
        for note in ready:
            self.waiting.remove(note)
        return ready

    def encoded(self, note: HeardNote) -> None:
        """A waiting note went into the model state: it waits no more."""
        self.waiting.remove(note)

    def take_call(self) -> list[HeardNote]:
        """The phrase's notes, handed over: the next key down begins another call."""
        call, self.call = self.call, []
        return call

    def finish(self, now: float) -> None:
        """The phrase is over: a waiting note still held ends now."""
        for note in self.waiting:
            if note.end is None:
                note.end = now

    def take_waiting(self) -> list[HeardNote]:
        """Every waiting note, in onset order, no longer waiting."""
        waiting = self._in_onset_order()
        self.waiting.clear()
        return waiting

    def keep_held_in_call(self) -> None:
        """The finished notes leave the call: a stream, not the call, is what runs now."""
        self.call = [n for n in self.call if n.end is None]

    def clear(self) -> None:
        """The transport stopped or started: what was held belongs to no bar now."""
        self.call.clear()
        self.waiting.clear()
        self.held.clear()
        self.sustained.clear()

    def _in_onset_order(self) -> list[HeardNote]:
        return sorted(self.waiting, key=lambda n: (self.grid.onset_tick(n), n.pitch))
