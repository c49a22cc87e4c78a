"""Opening ports: the player's input, the synth's output, virtual ones we create, and groups of outputs."""

from __future__ import annotations

import sys

import mido
import rtmidi

from livegen.live.ports.backend import current_api_id
from livegen.live.ports.errors import RTMIDI_ERRORS, PortError, listing
from livegen.live.ports.names import created_address, match_port, matches, port_names

CLIENT_NAME = "livegen"
# Each rtmidi port is its own JACK client and JACK client names are unique, so the answer's
# port lives under a client of its own: livegen:in and livegen-out:answer, not livegen-01.
OUTPUT_CLIENT_NAME = "livegen-out"
DEFAULT_PORT_NAMES = {"input": "in", "output": "answer"}

# Messages rtmidi holds for the listener: 20 s of a 3,000-a-second flood, 2 MB at most.
INPUT_QUEUE_SIZE = 1 << 16


class InputPort:
    """A MIDI input whose messages wait in rtmidi's own queue until a listener thread reads them.

    mido's input ports always set a Python callback, which rtmidi calls from JACK's process
    thread; that thread then waits for the GIL and JACK drops the periods it misses.
    """

    def __init__(self, midi_in: rtmidi.MidiIn, name: str) -> None:
        self._rt = midi_in
        self.name = name

    def get_message(self) -> tuple[list[int], float] | None:
        """The oldest waiting message as (bytes, seconds since the message before), or None."""
        return self._rt.get_message()

    def close(self) -> None:
        """Leave the MIDI system; messages still queued are dropped."""
        self._rt.close_port()
        self._rt.delete()


def open_input(name: str | None = None, virtual: bool = False, create: bool = False,
               client_name: str = CLIENT_NAME) -> InputPort:
    """Open the player's port (or a virtual one) for a listener thread to read."""
    return _open("input", name, virtual, create, client_name)


def open_output(name: str | None = None, virtual: bool = False, create: bool = False,
                client_name: str = OUTPUT_CLIENT_NAME):
    """Open the synth's port (or a virtual one) that the answer is sent to."""
    return _open("output", name, virtual, create, client_name)


def _open(kind: str, name: str | None, virtual: bool, create: bool, client_name: str, **options):
    """Open an existing port matching ``name``, or a virtual one when asked or allowed to create it."""
    if virtual:
        return _open_virtual(kind, name or DEFAULT_PORT_NAMES[kind], client_name, **options)
    candidates = port_names(kind)
    if name is not None and (matches(name, candidates) or not create):
        address = match_port(name, candidates, kind)
        return _call_opener(kind, address, f"cannot open MIDI {kind} {address!r}", **options)
    if create:
        return _open_virtual(kind, name or DEFAULT_PORT_NAMES[kind], client_name, **options)
    raise PortError(f"no MIDI {kind} given; {kind}s: {listing(candidates)}. "
                    "Name one, or use --create to make a virtual port")


def _open_virtual(kind: str, name: str, client_name: str, **options):
    """Create a virtual port whose ``name`` becomes the address other programs see it by."""
    if sys.platform == "win32":
        raise PortError(f"cannot create virtual MIDI {kind} {name!r}: Windows has no virtual MIDI ports. "
                        "Install a loopback driver (e.g. loopMIDI), make a port there and name it instead")
    peer_kind = "output" if kind == "input" else "input"
    before = port_names(peer_kind)
    port = _call_opener(kind, name, f"cannot create virtual MIDI {kind} {client_name}:{name}",
                        virtual=True, client_name=client_name, **options)
    port.name = created_address(name, before, port_names(peer_kind)) or name
    port.is_virtual = True  # ours: it cannot vanish under us the way a device can
    return port


def _call_opener(kind: str, name: str, failure: str, **options):
    """Open a port, turning backend errors into a PortError that starts with ``failure``."""
    opener = _open_input_port if kind == "input" else mido.open_output
    try:
        return opener(name, **options)
    except RTMIDI_ERRORS as error:
        raise PortError(f"{failure}: {error}. Check that it still exists with 'livegen ports'") from error


def _open_input_port(name: str, virtual: bool = False, client_name: str | None = None) -> InputPort:
    """Open an rtmidi input on mido's backend without a callback (see ``InputPort``)."""
    midi_in = rtmidi.MidiIn(rtapi=current_api_id(), name=client_name if virtual else None,
                            queue_size_limit=INPUT_QUEUE_SIZE)
    try:
        # Active sensing too, though nobody needs it: rtmidi's delta times skip what it ignores.
        midi_in.ignore_types(sysex=False, timing=False, active_sense=False)
        if virtual:
            midi_in.open_virtual_port(name)
        else:
            midi_in.open_port(midi_in.get_ports().index(name))
    except BaseException:
        midi_in.delete()
        raise
    return InputPort(midi_in, name)
