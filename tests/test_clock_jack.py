"""Following a foreign MIDI clock over real JACK ports: the answer lands on the source's beats."""

import os
import queue
import subprocess
import sys
import threading
import time

import mido
import numpy as np
import pytest

from tests import jackutil
from tests.fakes import sounding_after
from tests.test_play_jack import PERIOD, Player, _wait_until, start_livegen, stop

pytestmark = pytest.mark.jack


class ClockSource:
    """A foreign JACK client sending 24 PPQN clock with start/stop at absolute times."""

    def __init__(self, player):
        self.client_name = player.client_name + "-clock"
        self.port = mido.open_output("clock", client_name=self.client_name, virtual=True)
        self.address = f"{self.client_name}:clock"
        jackutil.wait_for_port(self.address)
        self.sent = []  # (time, message type)

    def run(self, start, segments, stop_event):
        """``segments``: (bpm, beats) pairs played one after another from ``start``."""
        _wait_until(start - 0.01)
        self.port.send(mido.Message("start"))
        at = start
        for bpm, beats in segments:
            gap = 60.0 / bpm / 24
            for _ in range(int(beats * 24)):
                _wait_until(at)
                if stop_event.is_set():
                    return
                self.port.send(mido.Message("clock"))
                self.sent.append(time.perf_counter())  # when it really left, the reference
                at += gap
        self.port.send(mido.Message("stop"))

    def close(self):
        self.port.close()


def connect_all(player, source, livegen_in, livegen_out):
    """Keys and clock into livegen, the answer and the clock into the player's ears; returns a start time."""
    player.connect(livegen_in, livegen_out)
    subprocess.run(["jack_connect", source.address, livegen_in], check=True, timeout=5)
    player.ears.connect_from(source.address)
    time.sleep(0.3)
    return time.perf_counter() + 0.1


def heard_pulses(player):
    return [t for t, m in list(player.ears.received) if m.type == "clock"]


def source_beats_as_heard(source, heard):
    """The source's beat times (every 24th pulse it sent) moved by the median JACK latency heard.

    Matching each heard pulse to the last one sent before it (latency is far below a pulse's
    length) keeps the beat count right even if a pulse were lost on the way.
    """
    sent = np.array(source.sent)
    nearest = sent[np.clip(np.searchsorted(sent, heard, side="right") - 1, 0, len(sent) - 1)]
    latency = float(np.median(np.array(heard) - nearest))
    assert 0 <= latency < 0.01, f"pulses arrive {1000 * latency:.1f} ms after they are sent"
    return sent[::24] + latency


@pytest.mark.parametrize("segments", [((120, 24),), ((100, 12), (140, 12))], ids=["120bpm", "100-then-140bpm"])
def test_answer_notes_fall_on_the_clock_sources_beats(jack_server, tiny_preset, tmp_path, segments):
    player = Player()
    source = ClockSource(player)
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--clock", "in", "--answer-bars", "2",
                                                    "--quiet")
    stop_event = threading.Event()
    try:
        start = connect_all(player, source, livegen_in, livegen_out)
        clock_thread = threading.Thread(target=source.run, args=(start, segments, stop_event))
        clock_thread.start()
        first_bpm = segments[0][0]
        beat = 60.0 / first_bpm
        for index, pitch in enumerate([67, 71, 74, 72]):  # a call on beats 2..5 of the first tempo
            _wait_until(start + (2 + index) * beat)
            player.keys.send(mido.Message("note_on", channel=15, note=pitch, velocity=90))
            _wait_until(start + (2 + index + 0.6) * beat)
            player.keys.send(mido.Message("note_off", channel=15, note=pitch))
        clock_thread.join()
        time.sleep(0.3)
    finally:
        stop_event.set()
        code, errors = stop(process)
        source.close()
    beats = source_beats_as_heard(source, heard_pulses(player))
    answer_ons = [t for t, m in player.heard(own=False) if m.type == "note_on" and m.velocity > 0]
    player.close()
    assert code == 0, errors
    assert len(answer_ons) >= 2, f"no answer while the clock ran: {errors}"
    # Each answer onset lies on the source's 1/12-beat grid: measure against the nearest beat line.
    for onset in answer_ons:
        previous = beats[beats <= onset + PERIOD][-1]
        index = np.searchsorted(beats, previous)
        length = beats[index + 1] - previous if index + 1 < len(beats) else beat
        ticks = (onset - previous) / length * 12
        assert abs(ticks - round(ticks)) * length / 12 <= PERIOD + 0.0015, f"{ticks:.3f} ticks after a beat"
    first = min(answer_ons)
    assert np.min(np.abs(beats - first)) <= PERIOD + 0.0015, "the answer starts on a beat of the source"
    answer_messages = [m for _, m in player.heard(own=False) if m.type != "clock"]
    assert sounding_after(answer_messages) == set(), "the source's stop left nothing sounding"


def test_the_sources_stop_silences_the_answer_within_a_period(jack_server, tiny_preset, tmp_path):
    player = Player()
    source = ClockSource(player)
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--clock", "in", "--answer-bars", "4",
                                                    "--quiet")
    try:
        start = connect_all(player, source, livegen_in, livegen_out)
        clock_thread = threading.Thread(target=source.run, args=(start, ((120, 10),), threading.Event()))
        clock_thread.start()
        for index, pitch in enumerate([60, 64, 67]):
            _wait_until(start + (1 + index) * 0.5)
            player.keys.send(mido.Message("note_on", channel=15, note=pitch, velocity=90))
            _wait_until(start + (1 + index + 0.6) * 0.5)
            player.keys.send(mido.Message("note_off", channel=15, note=pitch))
        clock_thread.join()
        time.sleep(0.5)
    finally:
        code, errors = stop(process)
        source.close()
    received = list(player.ears.received)
    player.close()
    stopped_at = next(t for t, m in received if m.type == "stop")
    answer = [(t, m) for t, m in received if getattr(m, "channel", 15) != 15 and m.type in ("note_on", "note_off")]
    before = [m for t, m in answer if t < stopped_at]
    assert any(m.type == "note_on" for m in before), f"the answer had begun before the stop: {errors}"
    after = [(t, m) for t, m in answer if t >= stopped_at]
    assert not [m for _, m in after if m.type == "note_on" and m.velocity > 0], "no new note after the stop"
    assert all(t - stopped_at <= PERIOD + 0.0015 for t, _ in after), "releases come within a period"
    assert sounding_after([m for _, m in answer]) == set()
    assert code == 0


def test_as_clock_master_livegen_sends_steady_pulses_a_foreign_client_can_follow(jack_server, tiny_preset, tmp_path):
    player = Player()
    # A DAW's port already exists when livegen starts, so livegen connects to it and the start
    # message reaches it (a virtual port connected later would miss it).
    command = [sys.executable, "-m", "livegen", "play", "--in", f"keys-{os.getpid()}", "--create", "--out",
               player.ears.address, "--preset", str(tiny_preset), "--send-clock", "--bpm", "125", "--quiet"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    process.lines = queue.SimpleQueue()
    threading.Thread(target=lambda: [process.lines.put(line) for line in process.stderr], daemon=True).start()
    try:
        time.sleep(5.0)
        stopping = time.perf_counter()
    finally:
        code, errors = stop(process)
    received = list(player.ears.received)
    player.close()
    assert code == 0, errors
    kinds = [m.type for _, m in received]
    pulses = np.array([t for t, m in received if m.type == "clock" and t < stopping])
    assert "start" in kinds and kinds[-1] == "stop", "start before the pulses, stop when livegen stops"
    assert kinds.index("start") < kinds.index("clock")
    assert len(pulses) > 100
    slope, intercept = np.polyfit(np.arange(len(pulses)), pulses, 1)
    assert 60.0 / (slope * 24) == pytest.approx(125, rel=0.002)
    residual = pulses - (intercept + slope * np.arange(len(pulses)))
    assert np.max(np.abs(residual)) <= PERIOD + 0.0015, "each pulse within a JACK period of the steady grid"
