"""Panic: the messages that leave a synth silent, and sending them."""

from __future__ import annotations

from collections.abc import Iterable

import mido

from livegen.live.ports.errors import RTMIDI_ERRORS, PortError

SUSTAIN_PEDAL = 64
ALL_SOUND_OFF = 120
ALL_NOTES_OFF = 123


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
    except RTMIDI_ERRORS as error:
        raise PortError(f"cannot silence MIDI output {port.name!r}: {error}. Turn the synth's volume down "
                        "and check the port with 'livegen ports'") from error
