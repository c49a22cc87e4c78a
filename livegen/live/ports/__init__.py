"""MIDI ports: pick the backend, find ports by forgiving names, open or create them, silence them.

- ``backend``: which MIDI backend mido uses, falling back to JACK when only JACK runs.
- ``names``: the ports present, and which one a forgiving name means.
- ``opening``: the player's input, the synth's output, virtual ports, groups of outputs.
- ``presence``: whether a device is still there, and connecting to it again.
- ``panic``: the messages that leave a synth silent.
- ``errors``: ``PortError``, worded so the player can fix it.
"""

from livegen.live.ports.backend import JACK_DUMMY_COMMAND, BackendChoice, select_backend
from livegen.live.ports.errors import PortError
from livegen.live.ports.names import list_ports, match_port
from livegen.live.ports.opening import InputPort, open_input, open_output
from livegen.live.ports.panic import panic_messages, send_panic
from livegen.live.ports.presence import reconnect, still_there

__all__ = ["BackendChoice", "InputPort", "JACK_DUMMY_COMMAND", "PortError", "list_ports",
           "match_port", "open_input", "open_output", "panic_messages", "reconnect", "select_backend",
           "send_panic", "still_there"]
