"""Which MIDI backend mido uses: the one asked for, else the default, else JACK when only JACK runs."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import mido
import rtmidi

from livegen.live import jackd
from livegen.live.ports.errors import PortError, listing

RTMIDI_BACKEND = "mido.backends.rtmidi"
JACK_API = "UNIX_JACK"
BACKEND_ALIASES = {"jack": JACK_API, "alsa": "LINUX_ALSA", "coremidi": "MACOSX_CORE", "windows-mm": "WINDOWS_MM"}
ALSA_SEQUENCER = "/dev/snd/seq"
JACK_DUMMY_COMMAND = " ".join(jackd.COMMAND)

_API_IDS = {name[len("API_"):]: getattr(rtmidi, name)
           for name in dir(rtmidi) if name.startswith("API_") and name != "API_UNSPECIFIED"}
_API_HINTS = {
    "LINUX_ALSA": "Without /dev/snd/seq (containers, CI) use --backend jack with a running JACK server",
    JACK_API: f"Start a JACK server (e.g. '{JACK_DUMMY_COMMAND}') or pick another --backend",
}


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
        raise PortError(f"unknown MIDI backend {name!r}; valid: {listing(valid)}")
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
        return f"python-rtmidi here has no {api} support, only {listing(compiled)}"
    try:
        probe = rtmidi.MidiOut(rtapi=rtmidi.API_UNSPECIFIED if api is None else _API_IDS[api])
    except rtmidi.RtMidiError as error:
        return str(error).rstrip(".")
    probe.delete()
    return None


def current_api_id() -> int:
    """The rtmidi API id of the backend mido now uses (its default when it names none)."""
    return _API_IDS[mido.backend.api] if mido.backend.api else rtmidi.API_UNSPECIFIED
