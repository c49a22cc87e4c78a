"""Whether a connected port's device is still there, and connecting to it again when it is back."""

from __future__ import annotations

import time

import rtmidi

from livegen.live.ports.errors import RTMIDI_ERRORS
from livegen.live.ports.names import list_ports, without_client_numbers


def still_there(port, kind: str) -> bool:
    """Whether the device a port is connected to still exists.

    Asked through the port's own rtmidi client: listing ports the usual way opens new JACK
    clients, and each one reshuffles JACK's graph, which delays every client's MIDI by up to a
    period or more (measured: one clock pulse in 60 came 19 ms late while polling each second).
    """
    own_client = getattr(port, "_rt", None)
    if own_client is not None:
        return port.name in own_client.get_ports()
    inputs, outputs = list_ports()
    return port.name in (inputs if kind == "input" else outputs)


# JACK acts on an output once a period: rtmidi's process callback empties the port's queue, and a
# new connection carries messages from the period after it is made. Each half of this wait, one
# before connecting and one after, outlasts a period of 2048 frames at 44.1 kHz (46 ms); live MIDI
# runs on far shorter ones. Other messages on the port's scheduler wait that long, on a reconnect only.
JACK_SETTLE_S = 0.1


def reconnect(port) -> bool:
    """Connect ``port`` again to its device if one of that name is back; whether it is connected now.

    The port stays ours (its rtmidi client and queue are kept); only the connection is made
    anew. An ALSA device that comes back under another client number is found all the same.
    A JACK output first lets its queue empty to nowhere, and returns once the new connection
    carries messages: otherwise a message sent while the device was gone could reach it ahead of
    what the caller sends first (a synth's program), or that first message be lost. Measured,
    120 reconnects to a synth while an answer played: 4 lost or overtaken without the waits, none with them.
    The caller sends nothing on the port meanwhile.
    """
    own_client = port._rt
    names = own_client.get_ports()
    same = [name for name in names if name == port.name] or [
        name for name in names if without_client_numbers(name) == without_client_numbers(port.name)]
    if len(same) != 1:
        return False
    settle = isinstance(own_client, rtmidi.MidiOut) and own_client.get_current_api() == rtmidi.API_UNIX_JACK
    if settle:
        time.sleep(JACK_SETTLE_S / 2)
    try:
        own_client.close_port()
        own_client.open_port(names.index(same[0]))
    except RTMIDI_ERRORS:
        return False  # gone again while we connected: the next check tries once more
    if settle:
        time.sleep(JACK_SETTLE_S / 2)
    port.name = same[0]
    return True
