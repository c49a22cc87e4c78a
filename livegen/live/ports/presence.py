"""Whether a connected port's device is still there, and connecting to it again when it is back."""

from __future__ import annotations

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


def reconnect(port) -> bool:
    """Connect ``port`` again to its device if one of that name is back; whether it is connected now.

    The port stays ours (its rtmidi client and queue are kept); only the connection is made
    anew. An ALSA device that comes back under another client number is found all the same.
    """
    own_client = port._rt
    names = own_client.get_ports()
    same = [name for name in names if name == port.name] or [
        name for name in names if without_client_numbers(name) == without_client_numbers(port.name)]
    if len(same) != 1:
        return False
    try:
        own_client.close_port()
        own_client.open_port(names.index(same[0]))
    except RTMIDI_ERRORS:
        return False  # gone again while we connected: the next check tries once more
    port.name = same[0]
    return True
