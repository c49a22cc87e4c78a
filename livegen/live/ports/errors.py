"""PortError, the backend errors it stands for, and the wording its messages share."""

from __future__ import annotations

from collections.abc import Iterable

import rtmidi

from livegen.errors import LivegenError

RTMIDI_ERRORS = (OSError, ValueError, rtmidi.RtMidiError)


class PortError(LivegenError, OSError):
    """A MIDI backend or port problem, worded so the player can fix it."""


def listing(names: Iterable[str]) -> str:
    """Names quoted and comma-separated, or 'none'."""
    return ", ".join(repr(name) for name in names) or "none"
