"""Latency calibration: how long a note takes out through a port and back in through another.

Player notes arrive late by the input's latency, so the beat livegen hears is late by it, and the
answer reaches the synth late by the output's: the whole round trip is what the answer lags the
player's own time. ``livegen calibrate`` measures it through a loopback (or a DAW that echoes
MIDI) and saves it per output port; ``livegen play`` then sends that much earlier.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import mido
import numpy as np

from livegen.atomic import atomic_write
from livegen.errors import SettingError

PROBE_PITCHES = range(100, 120)  # high and at velocity 1: as quiet as a note can be
MAX_OFFSET_MS = 500.0


def config_path() -> Path:
    """Where measured offsets are kept: ``$XDG_CONFIG_HOME/livegen/latency.json``."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "livegen" / "latency.json"


def measure(output, inbox: list, arrived: threading.Event, count: int = 20, gap: float = 0.1,
            timeout: float = 1.0, now=time.perf_counter) -> list[float]:
    """Send ``count`` probe notes on ``output`` and time each one's return into ``inbox``.

    ``inbox`` is filled by the input port's listener with ``(time, message)``; ``arrived`` is
    set on each arrival. Returns the round trips in seconds of the notes that came back.
    """
    trips = []
    for index in range(count):
        pitch = PROBE_PITCHES[index % len(PROBE_PITCHES)]
        arrived.clear()
        inbox.clear()
        sent = now()
        output.send(mido.Message("note_on", note=pitch, velocity=1))
        deadline = sent + timeout
        while now() < deadline:
            arrived.wait(max(0.0, deadline - now()))
            back = [at for at, message in list(inbox) if message.type == "note_on" and message.note == pitch]
            if back:
                trips.append(back[0] - sent)
                break
        output.send(mido.Message("note_off", note=pitch))
        time.sleep(gap)
    return trips


def summary(trips: list[float]) -> dict:
    """Median, spread and worst round trip in milliseconds."""
    values = np.array(trips) * 1000
    return {"notes": int(values.size), "median_ms": round(float(np.median(values)), 2),
            "p90_ms": round(float(np.percentile(values, 90)), 2), "max_ms": round(float(values.max()), 2)}


def save(output_name: str, offset_ms: float, path: Path | None = None) -> Path:
    """Keep the offset for this output port (other ports' offsets stay)."""
    path = path or config_path()
    offsets = load_all(path)
    offsets[output_name] = round(offset_ms, 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(offsets, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return path


def load_all(path: Path | None = None) -> dict[str, float]:
    """Every saved offset; a missing file is none, a broken one is an error that names it."""
    path = path or config_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SettingError(f"cannot read the latency file {path}: {error}; delete it and calibrate again") from error
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) and 0 <= v <= MAX_OFFSET_MS
                                             for v in data.values()):
        raise SettingError(f"the latency file {path} must map port names to milliseconds 0..{MAX_OFFSET_MS:g}")
    return data


def offset_for(output_name: str, path: Path | None = None) -> float | None:
    """The saved offset in milliseconds for an output port, if it was calibrated."""
    return load_all(path).get(output_name)
