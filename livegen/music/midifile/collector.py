"""Note-ons paired with their note-offs, per channel and pitch, with the sustain pedal."""

from __future__ import annotations

from collections import defaultdict, deque


class NoteCollector:
    """Pairs note-ons with note-offs per (channel, pitch), first in first out, with sustain."""

    def __init__(self) -> None:
        self.open: dict[tuple[int, int], deque] = defaultdict(deque)
        self.pedal_down: set[int] = set()
        self.sustained: dict[tuple[int, int], list] = defaultdict(list)
        # (onset, pitch, velocity, end) in file ticks
        self.notes: list[tuple[int, int, int, int]] = []

    def note_on(self, tick: int, channel: int, pitch: int, velocity: int) -> None:
        self._release_sustained((channel, pitch), tick)  # a re-struck key damps its old sound
        self.open[(channel, pitch)].append((tick, velocity))

    def note_off(self, tick: int, channel: int, pitch: int) -> None:
        queue = self.open.get((channel, pitch))
        if not queue:
            return  # a stray note-off ends nothing
        onset, velocity = queue.popleft()
        if channel in self.pedal_down:
            self.sustained[(channel, pitch)].append((onset, velocity))
        else:
            self.notes.append((onset, pitch, velocity, tick))

    def pedal(self, tick: int, channel: int, value: int) -> None:
        if value >= 64:
            self.pedal_down.add(channel)
            return
        self.pedal_down.discard(channel)
        for key in [key for key in self.sustained if key[0] == channel]:
            self._release_sustained(key, tick)

    def _release_sustained(self, key: tuple[int, int], tick: int) -> None:
        for onset, velocity in self.sustained.pop(key, ()):
            self.notes.append((onset, key[1], velocity, tick))

    def finish(self, last_tick: int) -> int:
        """End what still sounds at the last tick; returns how many notes had no note-off."""
        for key in list(self.sustained):
            self._release_sustained(key, last_tick)
        unfinished = 0
        for (_, pitch), queue in self.open.items():
            for onset, velocity in queue:
                self.notes.append((onset, pitch, velocity, last_tick))
                unfinished += 1
        self.open.clear()
        return unfinished
