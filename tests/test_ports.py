"""Port selection, matching and panic: pure rules on plain lists, then real ports on a JACK server."""

import os
import re
import sys

import mido
import pytest

from livegen.live import ports
from livegen.live.ports import PortError, backend
from tests import jackutil

MPK = "MPK mini:MPK mini MIDI 1 20:0"
KEYSTATION = "Keystation 49:Keystation 49 MIDI 1 24:0"
SYNTH = "FLUID Synth (1234):Synth input port (1234:0) 128:0"
# Port names of this session's own, so that test runs sharing one JACK server cannot mistake each other's ports.
SESSION = f"test-{os.getpid()}"


def test_exact_name_wins_over_substring():
    assert ports.match_port("synth", ["synth", "synth 2"], "output") == "synth"


def test_alsa_client_numbers_are_ignored():
    assert ports.match_port("MPK mini:MPK mini MIDI 1 24:0", [KEYSTATION, MPK], "input") == MPK


def test_unique_substring_ignores_case():
    assert ports.match_port("keystation", [MPK, KEYSTATION, SYNTH], "input") == KEYSTATION


def test_ambiguous_substring_lists_every_match():
    with pytest.raises(PortError) as error:
        ports.match_port("midi 1", [MPK, KEYSTATION, SYNTH], "input")
    assert "several MIDI inputs" in str(error.value)
    assert repr(MPK) in str(error.value) and repr(KEYSTATION) in str(error.value)
    assert repr(SYNTH) not in str(error.value)


def test_no_match_lists_every_candidate_and_what_to_do():
    with pytest.raises(PortError) as error:
        ports.match_port("Launchpad", [MPK, KEYSTATION], "input")
    message = str(error.value)
    assert message.startswith("no MIDI input matches 'Launchpad'; inputs: ")
    assert repr(MPK) in message and repr(KEYSTATION) in message
    assert "livegen ports" in message and "--create" in message


def test_no_candidates_says_none():
    with pytest.raises(PortError, match="outputs: none"):
        ports.match_port("synth", [], "output")


def test_panic_sends_note_offs_first_then_pedal_notes_sound_off_per_channel():
    messages = ports.panic_messages([(0, 60), (9, 36)], channels=[0])
    assert messages == [
        mido.Message("note_off", channel=0, note=60),
        mido.Message("note_off", channel=9, note=36),
        mido.Message("control_change", channel=0, control=64, value=0),
        mido.Message("control_change", channel=0, control=123, value=0),
        mido.Message("control_change", channel=0, control=120, value=0),
        mido.Message("control_change", channel=9, control=64, value=0),
        mido.Message("control_change", channel=9, control=123, value=0),
        mido.Message("control_change", channel=9, control=120, value=0),
    ]


def test_panic_with_nothing_sounding_still_resets_each_channel_once():
    messages = ports.panic_messages(iter([]), channels=[3, 1, 3])
    assert [(message.channel, message.control) for message in messages] == [
        (1, 64), (1, 123), (1, 120), (3, 64), (3, 123), (3, 120)]


def test_unknown_backend_lists_valid_names():
    with pytest.raises(PortError) as error:
        ports.select_backend("mido.backends.nosuch")
    message = str(error.value)
    assert "'mido.backends.nosuch'" in message
    assert "'jack'" in message and "'mido.backends.rtmidi/UNIX_JACK'" in message


def test_jack_without_a_server_says_how_to_start_one(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "livegen-test-no-such-server")
    with pytest.raises(PortError) as error:
        ports.select_backend("jack")
    message = str(error.value)
    assert message.startswith("MIDI backend 'mido.backends.rtmidi/UNIX_JACK' cannot start: ")
    assert ports.JACK_DUMMY_COMMAND in message


def test_default_falls_back_to_jack_when_its_api_cannot_start_and_says_so(monkeypatch):
    monkeypatch.delenv("MIDO_BACKEND", raising=False)
    monkeypatch.setattr(backend, "_api_failure", lambda api: "no ALSA sequencer" if api is None else None)
    chosen = []
    monkeypatch.setattr(mido, "set_backend", lambda name, load: chosen.append(name))
    choice = ports.select_backend(None)
    assert choice.name == "mido.backends.rtmidi/UNIX_JACK" and chosen == [choice.name]
    assert "no ALSA sequencer" in choice.note and "using JACK" in choice.note


def test_default_without_any_midi_system_says_how_to_start_jack(monkeypatch):
    monkeypatch.delenv("MIDO_BACKEND", raising=False)
    monkeypatch.setattr(backend, "_api_failure", lambda api: "no ALSA sequencer" if api is None else "no server")
    with pytest.raises(PortError) as error:
        ports.select_backend(None)
    assert "no ALSA sequencer" in str(error.value) and ports.JACK_DUMMY_COMMAND in str(error.value)


def test_windows_refuses_virtual_ports_and_suggests_a_loopback_driver(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(PortError, match="loopMIDI"):
        ports.open_output(virtual=True)


@pytest.fixture
def jack(jack_server):
    """mido on JACK through select_backend, as the command line will do it."""
    choice = ports.select_backend(None)
    assert choice.name == "mido.backends.rtmidi/UNIX_JACK"


@pytest.fixture
def probe(jack):
    """A foreign JACK client that records what it hears."""
    collector = jackutil.Collector()
    yield collector
    collector.close()


@pytest.fixture
def answer(jack):
    """A virtual output of livegen's, as a synth would see it."""
    port = ports.open_output(f"answer-{SESSION}", virtual=True)
    yield port
    port.close()


@pytest.mark.jack
def test_default_virtual_ports_are_livegen_in_and_answer_seen_from_the_other_side(jack):
    output = ports.open_output(virtual=True)
    player = ports.open_input(virtual=True)
    try:
        # Each rtmidi port is its own JACK client: the answer's port has a client of its own.
        assert output.name == "livegen-out:answer"
        assert player.name == "livegen:in"
        inputs, outputs = ports.list_ports()
        assert output.name in inputs and player.name in outputs
    finally:
        player.close()
        output.close()


@pytest.mark.jack
def test_virtual_output_delivers_a_note_to_a_foreign_client(answer, probe):
    assert answer.name == f"livegen-out:answer-{SESSION}"
    jackutil.wait_for_port(answer.name)
    probe.connect_from(answer.name)
    jackutil.wait_until(lambda: jackutil.connections(answer.name) == {probe.address}, "connected to the probe alone")
    answer.send(mido.Message("note_on", note=60, velocity=100))
    assert probe.wait_for(1) == [mido.Message("note_on", note=60, velocity=100)]


@pytest.mark.jack
def test_opening_a_missing_port_lists_the_candidates(probe):
    with pytest.raises(PortError) as error:
        ports.open_output("nonexistent")
    message = str(error.value)
    assert "no MIDI output matches 'nonexistent'" in message
    assert repr(probe.address) in message


@pytest.mark.jack
def test_opening_an_existing_port_by_substring_reaches_it(probe):
    port = ports.open_output(probe.client_name)
    try:
        assert port.name == probe.address
        probe.wait_for_senders()
        port.send(mido.Message("control_change", control=1, value=5))
        assert probe.wait_for(1) == [mido.Message("control_change", control=1, value=5)]
    finally:
        port.close()


@pytest.mark.jack
def test_create_makes_a_virtual_port_when_none_matches(jack):
    port = ports.open_output(f"created-{SESSION}", create=True)
    try:
        assert port.name == f"livegen-out:created-{SESSION}"
        jackutil.wait_for_port(port.name)
    finally:
        port.close()


@pytest.mark.jack
def test_create_opens_the_existing_port_when_one_matches(probe):
    port = ports.open_output(probe.address, create=True)
    try:
        assert port.name == probe.address
        (sender,) = probe.wait_for_senders()
        assert re.fullmatch(r"RtMidiOut Client(-\d+)?:RtMidi output", sender), sender
    finally:
        port.close()


@pytest.mark.jack
def test_send_panic_delivers_note_offs_then_controllers(answer, probe):
    probe.connect_from(answer.name)
    ports.send_panic(answer, sounding=[(2, 64)], channels=[0])
    received = probe.wait_for(7)
    assert received == ports.panic_messages([(2, 64)], [0])
    assert [message.control for message in received[1:]] == [64, 123, 120, 64, 123, 120]


class OwnClient:
    """An rtmidi client as ``reconnect`` uses it: the ports it sees, and which one it is connected to."""

    def __init__(self, names):
        self.names = names
        self.connected_to = None

    def get_ports(self):
        return self.names

    def close_port(self):
        self.connected_to = None

    def open_port(self, index):
        self.connected_to = self.names[index]


class LostPort:
    def __init__(self, name, names):
        self.name = name
        self._rt = OwnClient(names)


def test_reconnect_waits_while_the_device_is_gone():
    port = LostPort(MPK, [KEYSTATION])
    assert not ports.reconnect(port)
    assert port._rt.connected_to is None


def test_reconnect_finds_an_alsa_device_back_under_another_client_number():
    back = "MPK mini:MPK mini MIDI 1 28:0"
    port = LostPort(MPK, [KEYSTATION, back])
    assert ports.reconnect(port)
    assert port._rt.connected_to == back and port.name == back


def test_reconnect_connects_to_the_same_name_only():
    port = LostPort("synth-1:in", ["synth-12:in"])
    assert not ports.reconnect(port)
