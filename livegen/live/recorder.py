"""The session recording: player and model on separate tracks of one type-1 .mid, real timing."""

from __future__ import annotations

import threading
from pathlib import Path

import mido

from livegen.music.midifile import save_atomically

PLAYER = "player"
MODEL = "livegen"
TICKS_PER_BEAT = 480


class Recorder:
    """Collects ``(time, message)`` per track from any thread; ``write`` saves them atomically."""

    def __init__(self) -> None:
        self._events: dict[str, list[tuple[float, mido.Message]]] = {PLAYER: [], MODEL: []}
        self._lock = threading.Lock()

    def record(self, track: str, at: float, message: mido.Message) -> None:
        with self._lock:
            self._events[track].append((at, message))

    def events(self, track: str) -> list[tuple[float, mido.Message]]:
        """A copy of one track's ``(time, message)`` pairs, in the order they came."""
        with self._lock:
            return list(self._events[track])

    def count(self, track: str, kind: str = "note_on") -> int:
        """How many messages of ``kind`` (note_on: sounding ones only) a track holds."""
        with self._lock:
            return sum(1 for _, m in self._events[track]
                       if m.type == kind and (kind != "note_on" or m.velocity > 0))

    def write(self, path: Path, bpm: float) -> int:
        """Write the session at ``bpm`` (times kept as played); returns the number of messages."""
        with self._lock:
            tracks = {name: sorted(events, key=lambda e: e[0]) for name, events in self._events.items()}
        stamps = [events[0][0] for events in tracks.values() if events]
        origin = min(stamps) if stamps else 0.0
        ticks_per_second = TICKS_PER_BEAT * bpm / 60.0
        midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
        conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0),
                                    mido.MetaMessage("end_of_track", time=0)])
        midi.tracks.append(conductor)
        for name, events in tracks.items():
            track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
            last_tick = 0
            for at, message in events:
                tick = max(last_tick, round((at - origin) * ticks_per_second))
                track.append(message.copy(time=tick - last_tick))
                last_tick = tick
            track.append(mido.MetaMessage("end_of_track", time=0))
            midi.tracks.append(track)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_atomically(midi, path)
        return sum(len(events) for events in tracks.values())
