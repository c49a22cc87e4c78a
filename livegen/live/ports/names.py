"""Port names: which ports are present, and which one a forgiving name means."""

from __future__ import annotations

import re

import mido

from livegen.live.ports.errors import RTMIDI_ERRORS, PortError, listing

_ALSA_NUMBERS = re.compile(r"\s+\d+:\d+$")


def list_ports() -> tuple[list[str], list[str]]:
    """Names of the ports we can read from (inputs) and send to (outputs)."""
    return port_names("input"), port_names("output")


def port_names(kind: str) -> list[str]:
    """Names of the inputs or outputs now present."""
    try:
        return mido.get_input_names() if kind == "input" else mido.get_output_names()
    except RTMIDI_ERRORS as error:
        raise PortError(f"cannot list MIDI {kind}s: {error}. Pick a working MIDI system with --backend") from error


def match_port(name: str, candidates: list[str], kind: str) -> str:
    """The one candidate ``name`` means: exact, then ignoring ALSA client numbers, then unique substring."""
    found = matches(name, candidates)
    if not found:
        raise PortError(f"no MIDI {kind} matches {name!r}; {kind}s: {listing(candidates)}. "
                        "Use 'livegen ports' to list them, or --create to make a virtual port")
    if len(found) > 1:
        raise PortError(f"{name!r} matches several MIDI {kind}s: {listing(found)}. Give more of the name")
    return found[0]


def matches(name: str, candidates: list[str]) -> list[str]:
    """Candidates matching ``name`` at the first rule that finds any."""
    rules = (
        lambda candidate: candidate == name,
        lambda candidate: without_client_numbers(candidate) == without_client_numbers(name),
        lambda candidate: name.lower() in candidate.lower(),
    )
    for rule in rules:
        found = [candidate for candidate in candidates if rule(candidate)]
        if found:
            return found
    return []


def without_client_numbers(name: str) -> str:
    """``name`` without the trailing ALSA client:port numbers, which change when a device comes back."""
    return _ALSA_NUMBERS.sub("", name)


def created_address(name: str, before: list[str], after: list[str]) -> str | None:
    """The one new port name ending in ``:name`` (the backend may rename the client), if exactly one."""
    new = [address for address in after
           if address not in before and without_client_numbers(address).endswith(":" + name)]
    return new[0] if len(new) == 1 else None
