"""``PortsConfig``: the ports a session opens, and what it does with them."""

from __future__ import annotations

from dataclasses import dataclass


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
