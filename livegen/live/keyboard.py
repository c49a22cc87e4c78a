"""A player's part played into a port by the program itself: a piece as timed messages, sent on time."""

from __future__ import annotations

import threading
import time

import mido

from livegen.music import codec
from livegen.music.midifile import Piece


def call_events(piece: Piece, bpm: float, start: float) -> list[tuple[float, mido.Message]]:
    """The call as timed messages (releases first at equal times), starting at ``start``."""
    seconds_per_tick = 60.0 / bpm / codec.TICKS_PER_BEAT
    first = min(note.onset for note in piece.notes)
    events = []
    for note in piece.notes:
        on = start + (note.onset - first) * seconds_per_tick
        events.append((on + note.duration * seconds_per_tick, 0,
                       mido.Message("note_off", note=note.pitch, velocity=0)))
        events.append((on, 1, mido.Message("note_on", note=note.pitch, velocity=note.velocity)))
    return [(at, message) for at, _, message in sorted(events, key=lambda e: (e[0], e[1]))]


def play_into(port, events, stop: threading.Event) -> None:
    """Send timed messages at their absolute times (the player of the demo)."""
    for at, message in events:
        while not stop.is_set() and time.perf_counter() < at - 0.001:
            time.sleep(min(0.005, max(0.0, at - time.perf_counter() - 0.001)))
        while time.perf_counter() < at:
            pass
        if stop.is_set():
            return
        port.send(message)
