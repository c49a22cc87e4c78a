"""``PortsConfig``: the ports a session opens, and what it does with them; ``SessionConfig``: what it keeps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PortsConfig:
    """Where the player comes in and the answer goes out."""

    input_name: str | None = None
    output_name: str | None = None
    virtual: bool = False
    create: bool = False
    backend: str | None = None
    thru: bool = False
    clock_name: str | None = None  # follow the MIDI clock on this input ("in": the player's own)
    program: int | None = None  # program change (0..127) sent on the answer's channel at start
    reconnect: bool = False  # wait for a named port that disappears, rather than end the session
    more_outputs: tuple[str, ...] = ()  # the answer goes to these ports too
    thru_to: str | None = None  # the player's notes go to this port (rather than with the answer)


@dataclass(frozen=True)
class LinkConfig:
    """Following an Ableton Link session (``--link``): its tempo, beat grid and bar line."""

    start_stop: bool = False  # play only while the session plays, starting on its bar line
    propose_tempo: bool = False  # ask the session to take the tempo the player gave (--bpm)


@dataclass(frozen=True)
class SessionConfig:
    """What a session draws from and keeps: its seed, the files it reads and writes, its output offset."""

    seed: int | None = None  # the sampler's: the same seed and playing, the same answers
    record: Path | None = None  # player and answer written to this .mid at the end
    timing_path: Path | None = None  # when each message was heard and sent (``--log-timing``)
    # (output as the player named it, None for --out; ms): send that early to it (others: what
    # 'livegen calibrate' measured for them, else nothing)
    out_latency_ms: tuple[tuple[str | None, float], ...] = ()
    memory_path: Path | None = None  # what it learned of the player, read at the start and written at the end
    link: LinkConfig | None = None  # the beat comes from an Ableton Link session
