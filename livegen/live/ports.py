"""MIDI ports: pick the backend, find ports by forgiving names, open or create them, silence them."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import mido
import rtmidi

from livegen.live import jackd

RTMIDI_BACKEND = "mido.backends.rtmidi"
JACK_API = "UNIX_JACK"
BACKEND_ALIASES = {"jack": JACK_API, "alsa": "LINUX_ALSA", "coremidi": "MACOSX_CORE", "windows-mm": "WINDOWS_MM"}
CLIENT_NAME = "livegen"
# Each rtmidi port is its own JACK client and JACK client names are unique, so the answer's
# port lives under a client of its own: livegen:in and livegen-out:answer, not livegen-01.
OUTPUT_CLIENT_NAME = "livegen-out"
DEFAULT_PORT_NAMES = {"input": "in", "output": "answer"}
ALSA_SEQUENCER = "/dev/snd/seq"
JACK_DUMMY_COMMAND = " ".join(jackd.COMMAND)

# Messages rtmidi holds for the listener: 20 s of a 3,000-a-second flood, 2 MB at most.
INPUT_QUEUE_SIZE = 1 << 16

SUSTAIN_PEDAL = 64
ALL_SOUND_OFF = 120
ALL_NOTES_OFF = 123

_ALSA_NUMBERS = re.compile(r"\s+\d+:\d+$")
_API_IDS = {name[len("API_"):]: getattr(rtmidi, name)
            for name in dir(rtmidi) if name.startswith("API_") and name != "API_UNSPECIFIED"}
_RTMIDI_ERRORS = (OSError, ValueError, rtmidi.RtMidiError)
_API_HINTS = {
    "LINUX_ALSA": "Without /dev/snd/seq (containers, CI) use --backend jack with a running JACK server",
    JACK_API: f"Start a JACK server (e.g. '{JACK_DUMMY_COMMAND}') or pick another --backend",
}


class PortError(OSError):
    """A MIDI backend or port problem, worded so the player can fix it."""


@dataclass(frozen=True)
class BackendChoice:
    """The backend now in use, and a note for the player when it is not the one they asked for."""

    name: str
    note: str | None = None


def select_backend(name: str | None) -> BackendChoice:
    """Make mido use ``name`` (a full backend name or an alias), else MIDO_BACKEND, else the default."""
    requested = name or os.environ.get("MIDO_BACKEND") or None  # an empty variable means unset
    if requested is None:
        return _select_default()
    full_name, api = _parse_backend(requested)
    failure = _api_failure(api)
    if failure is not None:
        hint = _API_HINTS.get(api, "Pick another --backend")
        raise PortError(f"MIDI backend {full_name!r} cannot start: {failure}. {hint}")
    mido.set_backend(full_name, load=True)
    return BackendChoice(full_name)


def _select_default() -> BackendChoice:
    """Use mido's default backend, or JACK when the default API cannot start and JACK runs."""
    failure = _alsa_missing() or _api_failure(None)
    if failure is None:
        mido.set_backend(RTMIDI_BACKEND, load=True)
        return BackendChoice(RTMIDI_BACKEND)
    jack_name = f"{RTMIDI_BACKEND}/{JACK_API}"
    jack_failure = _api_failure(JACK_API)
    if jack_failure is not None:
        raise PortError(f"no MIDI system: the default MIDI API cannot start ({failure}) and JACK cannot either "
                        f"({jack_failure}). Start a JACK server, e.g. '{JACK_DUMMY_COMMAND}', and run again")
    mido.set_backend(jack_name, load=True)
    return BackendChoice(jack_name, f"the default MIDI API cannot start ({failure}); using JACK ({jack_name}), "
                                    "whose server is running")


def _parse_backend(name: str) -> tuple[str, str | None]:
    """Full mido backend name and rtmidi API name for a backend name or alias."""
    if name in BACKEND_ALIASES:
        api = BACKEND_ALIASES[name]
    elif name == RTMIDI_BACKEND:
        api = None
    elif name.startswith(RTMIDI_BACKEND + "/") and name.split("/", 1)[1] in _API_IDS:
        api = name.split("/", 1)[1]
    else:
        valid = list(BACKEND_ALIASES) + [RTMIDI_BACKEND] + [f"{RTMIDI_BACKEND}/{api}" for api in _API_IDS]
        raise PortError(f"unknown MIDI backend {name!r}; valid: {_listing(valid)}")
    full_name = RTMIDI_BACKEND if api is None else f"{RTMIDI_BACKEND}/{api}"
    return full_name, api


def _alsa_missing() -> str | None:
    """On Linux without an ALSA sequencer (containers, CI), say so rather than let alsa-lib
    print its own error while rtmidi tries to open it."""
    if sys.platform.startswith("linux") and not os.path.exists(ALSA_SEQUENCER):
        return f"no ALSA sequencer ({ALSA_SEQUENCER})"
    return None


def _api_failure(api: str | None) -> str | None:
    """Why rtmidi cannot start ``api`` (None: its default) on this machine, or None when it can."""
    if api is not None and _API_IDS[api] not in rtmidi.get_compiled_api():
        compiled = [name for name, api_id in _API_IDS.items() if api_id in rtmidi.get_compiled_api()]
        return f"python-rtmidi here has no {api} support, only {_listing(compiled)}"
    try:
        probe = rtmidi.MidiOut(rtapi=rtmidi.API_UNSPECIFIED if api is None else _API_IDS[api])
    except rtmidi.RtMidiError as error:
        return str(error).rstrip(".")
    probe.delete()
    return None


def list_ports() -> tuple[list[str], list[str]]:
    """Names of the ports we can read from (inputs) and send to (outputs)."""
    return _port_names("input"), _port_names("output")


def match_port(name: str, candidates: list[str], kind: str) -> str:
    """The one candidate ``name`` means: exact, then ignoring ALSA client numbers, then unique substring."""
    matches = _matches(name, candidates)
    if not matches:
        raise PortError(f"no MIDI {kind} matches {name!r}; {kind}s: {_listing(candidates)}. "
                        "Use 'livegen ports' to list them, or --create to make a virtual port")
    if len(matches) > 1:
        raise PortError(f"{name!r} matches several MIDI {kind}s: {_listing(matches)}. Give more of the name")
    return matches[0]


def _matches(name: str, candidates: list[str]) -> list[str]:
    """Candidates matching ``name`` at the first rule that finds any."""
    rules = (
        lambda candidate: candidate == name,
        lambda candidate: _ALSA_NUMBERS.sub("", candidate) == _ALSA_NUMBERS.sub("", name),
        lambda candidate: name.lower() in candidate.lower(),
    )
    for rule in rules:
        found = [candidate for candidate in candidates if rule(candidate)]
        if found:
            return found
    return []


def _listing(names: Iterable[str]) -> str:
    """Names quoted and comma-separated, or 'none'."""
    return ", ".join(repr(name) for name in names) or "none"


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


class PortGroup:
    """Several outputs as one port: each message goes to every one of them, in order."""

    def __init__(self, ports) -> None:
        self.ports = list(ports)
        self.name = " + ".join(port.name for port in self.ports)
        self.is_virtual = all(getattr(port, "is_virtual", False) for port in self.ports)

    def send(self, message) -> None:
        for port in self.ports:
            port.send(message)

    def close(self) -> None:
        for port in self.ports:
            port.close()


def _open(kind: str, name: str | None, virtual: bool, create: bool, client_name: str, **options):
    """Open an existing port matching ``name``, or a virtual one when asked or allowed to create it."""
    if virtual:
        return _open_virtual(kind, name or DEFAULT_PORT_NAMES[kind], client_name, **options)
    candidates = _port_names(kind)
    if name is not None and (_matches(name, candidates) or not create):
        address = match_port(name, candidates, kind)
        return _call_opener(kind, address, f"cannot open MIDI {kind} {address!r}", **options)
    if create:
        return _open_virtual(kind, name or DEFAULT_PORT_NAMES[kind], client_name, **options)
    raise PortError(f"no MIDI {kind} given; {kind}s: {_listing(candidates)}. "
                    "Name one, or use --create to make a virtual port")


def _open_virtual(kind: str, name: str, client_name: str, **options):
    """Create a virtual port whose ``name`` becomes the address other programs see it by."""
    if sys.platform == "win32":
        raise PortError(f"cannot create virtual MIDI {kind} {name!r}: Windows has no virtual MIDI ports. "
                        "Install a loopback driver (e.g. loopMIDI), make a port there and name it instead")
    peer_kind = "output" if kind == "input" else "input"
    before = _port_names(peer_kind)
    port = _call_opener(kind, name, f"cannot create virtual MIDI {kind} {client_name}:{name}",
                        virtual=True, client_name=client_name, **options)
    port.name = _created_address(name, before, _port_names(peer_kind)) or name
    port.is_virtual = True  # ours: it cannot vanish under us the way a device can
    return port


def _created_address(name: str, before: list[str], after: list[str]) -> str | None:
    """The one new port name ending in ``:name`` (the backend may rename the client), if exactly one."""
    new = [address for address in after
           if address not in before and _ALSA_NUMBERS.sub("", address).endswith(":" + name)]
    return new[0] if len(new) == 1 else None


def _port_names(kind: str) -> list[str]:
    """Names of the inputs or outputs now present."""
    try:
        return mido.get_input_names() if kind == "input" else mido.get_output_names()
    except _RTMIDI_ERRORS as error:
        raise PortError(f"cannot list MIDI {kind}s: {error}. Pick a working MIDI system with --backend") from error


def _call_opener(kind: str, name: str, failure: str, **options):
    """Open a port, turning backend errors into a PortError that starts with ``failure``."""
    opener = _open_input_port if kind == "input" else mido.open_output
    try:
        return opener(name, **options)
    except _RTMIDI_ERRORS as error:
        raise PortError(f"{failure}: {error}. Check that it still exists with 'livegen ports'") from error


def _open_input_port(name: str, virtual: bool = False, client_name: str | None = None) -> InputPort:
    """Open an rtmidi input on mido's backend without a callback (see ``InputPort``)."""
    api = _API_IDS[mido.backend.api] if mido.backend.api else rtmidi.API_UNSPECIFIED
    midi_in = rtmidi.MidiIn(rtapi=api, name=client_name if virtual else None, queue_size_limit=INPUT_QUEUE_SIZE)
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
        name for name in names if _ALSA_NUMBERS.sub("", name) == _ALSA_NUMBERS.sub("", port.name)]
    if len(same) != 1:
        return False
    try:
        own_client.close_port()
        own_client.open_port(names.index(same[0]))
    except _RTMIDI_ERRORS:
        return False  # gone again while we connected: the next check tries once more
    port.name = same[0]
    return True


def panic_messages(sounding: Iterable[tuple[int, int]], channels: Iterable[int]) -> list[mido.Message]:
    """Messages that silence a synth: note-offs for ``sounding``, then per channel pedal up, all notes/sound off.

    The channels are those given plus those of the sounding notes, in rising order.
    """
    sounding = list(sounding)
    note_offs = [mido.Message("note_off", channel=channel, note=pitch) for channel, pitch in sounding]
    used_channels = sorted(set(channels) | {channel for channel, _ in sounding})
    controls = [mido.Message("control_change", channel=channel, control=control, value=0)
                for channel in used_channels for control in (SUSTAIN_PEDAL, ALL_NOTES_OFF, ALL_SOUND_OFF)]
    return note_offs + controls


def send_panic(port, sounding: Iterable[tuple[int, int]], channels: Iterable[int]) -> None:
    """Silence everything ``port`` may have left sounding (see ``panic_messages``)."""
    messages = panic_messages(sounding, channels)
    try:
        for message in messages:
            port.send(message)
    except _RTMIDI_ERRORS as error:
        raise PortError(f"cannot silence MIDI output {port.name!r}: {error}. Turn the synth's volume down "
                        "and check the port with 'livegen ports'") from error
