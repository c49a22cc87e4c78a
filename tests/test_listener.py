"""The listener's stamps: rtmidi's delta times on the listener's clock, however late the queue is read."""

import mido
import pytest

from livegen.live.listener import ArrivalStamps, Listener
from tests.fakes import FakeClock, QueuedPort


def test_a_queue_read_late_keeps_each_message_at_its_arrival_time():
    clock = FakeClock()
    port = QueuedPort(clock)
    heard = []
    listener = Listener(port, lambda at, message: heard.append((at, message)), now=clock)
    listener.take_waiting()  # empty at 100.0
    port.arrive(100.0001, [0xB0, 1, 0])
    clock.now = 100.0002
    listener.take_waiting()  # read soon: stamped when read, 110 us after it came
    for index in range(5):
        port.arrive(100.001 + index * 0.0025, [0x90, 60 + index, 100])
    clock.now = 100.250  # the listener was kept from reading for a quarter of a second
    assert listener.take_waiting() == 5
    assert [message.note for _, message in heard[1:]] == [60, 61, 62, 63, 64]
    for index, (at, _) in enumerate(heard[1:]):
        assert at == pytest.approx(100.001 + index * 0.0025 + 0.00011, abs=1e-9), "that late, not 250 ms"


def test_a_read_soon_after_arrival_corrects_a_late_start():
    clock = FakeClock()
    port = QueuedPort(clock)
    heard = []
    listener = Listener(port, lambda at, message: heard.append(at), now=clock)
    port.arrive(99.5, [0x90, 60, 100])  # the first message, read half a second late: stamped when read
    listener.take_waiting()
    assert heard[0] == pytest.approx(100.00001, abs=1e-6)
    clock.now = 101.0
    listener.take_waiting()
    port.arrive(101.0005, [0x80, 60, 0])
    clock.now = 101.001
    listener.take_waiting()
    assert heard[1] == pytest.approx(101.001, abs=2e-5), "held to before the read that found it"
    port.arrive(101.0105, [0x90, 62, 100])
    clock.now = 101.2
    listener.take_waiting()
    assert heard[2] - heard[1] == pytest.approx(0.010, abs=1e-9)


def test_garbled_messages_and_active_sensing_are_read_but_not_delivered():
    clock = FakeClock()
    port = QueuedPort(clock)
    heard = []
    listener = Listener(port, lambda at, message: heard.append(message), now=clock)
    port.arrive(100.0, [0xFE])
    port.arrive(100.1, [0x90, 60])  # a note-on missing its velocity
    port.arrive(100.2, [0xF0, 1, 2, 0xF7])
    clock.now = 100.3
    assert listener.take_waiting() == 3
    assert heard == [mido.Message("sysex", data=[1, 2])]


def test_stamps_never_go_back():
    stamps = ArrivalStamps()
    first = stamps.stamp(0.0, read_at=10.0)
    stamps.found_empty(10.5)
    assert stamps.stamp(0.2, read_at=10.6) == pytest.approx(10.5)  # the delta says 10.2, but the queue was empty then
    assert stamps.stamp(0.0, read_at=10.6) >= 10.5 > first
