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

from livegen.live import timing as livegen_timing
from livegen.live.clock import CLOCKS_PER_BEAT, ExternalClock
from livegen.live.listener import POLL_SECONDS
from tests import jackutil, timing
from tests.fakes import sounding_after
from tests.test_play_jack import Player, _wait_until, start_livegen, stop

# From the stop's arrival to the releases' send: the listener's poll, then the send budget (the
# engine wakes on its queue and cancels at once).
REACTION_BUDGET_S = POLL_SECONDS + timing.SEND_BUDGET_S

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
    jackutil.wait_for_connection(source.address, livegen_in)
    player.ears.connect_from(source.address)
    return time.perf_counter() + 0.1


def fitted_beat_error(segments, since_change: float, trials: int = 400) -> tuple[float, float]:
    """How far livegen's beat can lie from the source's, through the transport alone (seconds, earliest
    and latest): livegen's own clock fitted to pulses each delayed as a JACK trip delays them (to the
    next cycle, at a random phase of the period, plus up to the driver's late wake-up), at every
    moment at least ``since_change`` beats after a tempo change."""
    rng = np.random.default_rng(0)
    period = timing.period()
    sent = source_times(segments, start=0.0)
    beats = np.arange(len(sent)) / CLOCKS_PER_BEAT
    changes = np.cumsum([beats_in for _, beats_in in segments])[:-1]
    errors = []
    for _ in range(trials):
        phase = rng.uniform(0, period)
        turn = rng.uniform(0, period + timing.WAKE_SLACK_S, len(sent))
        arrived = np.ceil((sent - phase) / period) * period + phase + turn
        clock = ExternalClock(segments[0][0])
        clock.hear(mido.Message("start"), arrived[0] - 0.001)
        for index, at in enumerate(arrived):
            clock.hear(mido.Message("clock"), at)
            beat = beats[index]
            settled = beat >= 1 and all(not 0 <= beat - change < since_change for change in changes)
            if settled:  # where a note planned now and due within the next beat would land
                for ahead in (0.0, 0.5, 1.0):
                    true = np.interp(beat + ahead, beats, sent, right=np.nan)
                    if not np.isnan(true):
                        errors.append(clock.time_of_beat(beat + ahead) - true)
    return float(np.min(errors)), float(np.max(errors))


def source_times(segments, start):
    """When the source sends each pulse: ``segments`` of (bpm, beats) from ``start``."""
    times, at = [], start
    for bpm, beats in segments:
        for _ in range(int(beats * CLOCKS_PER_BEAT)):
            times.append(at)
            at += 60.0 / bpm / CLOCKS_PER_BEAT
    return np.array(times)


@pytest.mark.parametrize("segments", [((120, 24),), ((100, 12), (140, 12))], ids=["120bpm", "100-then-140bpm"])
def test_answer_notes_fall_on_the_clock_sources_beats(jack_server, tiny_preset, tmp_path, segments):
    player = Player()
    source = ClockSource(player)
    log = tmp_path / "timing.jsonl"
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--clock", "in", "--answer-bars", "2",
                                                    "--quiet", "--log-timing", log)
    stop_event = threading.Event()
    try:
        start = connect_all(player, source, livegen_in, livegen_out)
        clock_thread = threading.Thread(target=source.run, args=(start, segments, stop_event))
        clock_thread.start()
        beat = 60.0 / segments[0][0]
        for index, pitch in enumerate([67, 71, 74, 72]):  # a call on beats 2..5 of the first tempo
            _wait_until(start + (2 + index) * beat)
            player.send(mido.Message("note_on", channel=15, note=pitch, velocity=90))
            _wait_until(start + (2 + index + 0.6) * beat)
            player.send(mido.Message("note_off", channel=15, note=pitch))
        clock_thread.join()
        jackutil.wait_until(lambda: any(m.type == "stop" for _, m in list(player.ears.received)), "the stop heard")
    finally:
        stop_event.set()
        code, errors = stop(process)
        source.close()
    received = list(player.ears.received)
    player.close()
    assert code == 0, errors
    heard, sent = livegen_timing.read(log)
    # The transport: the clock and the keys into livegen, the answer out to the player's ears.
    pulses_heard = [(h.at, h.data) for h in heard if h.data[0] == 0xF8]
    timing.assert_trips([(at, (0xF8,)) for at in source.sent], pulses_heard, "clock source -> livegen")
    timing.assert_trips(player.sent, [(h.at, h.data) for h in heard if timing.is_note(h.data)], "player -> livegen")
    answer = [s for s in sent if timing.is_note(s.data)]
    timing.assert_trips([(s.at, s.data) for s in answer],
                        [(at, tuple(m.bytes())) for at, m in received if m.type in ("note_on", "note_off")
                         and m.channel != 15], "livegen -> player")
    timing.assert_sent_on_time(answer)
    onsets = [s.due for s in answer if timing.is_on(s.data)]
    assert len(onsets) >= 2, f"no answer while the clock ran: {errors}"
    # livegen's plan against the source's own grid (1/12 beat): off by no more than its clock, fitted
    # to pulses the transport delays, can be (simulated above); onsets within a beat of a tempo
    # change are the clock's to settle and are not judged.
    earliest, latest = fitted_beat_error(segments, since_change=1.0)
    source_beats = np.array(source.sent)
    grid = np.concatenate([np.linspace(a, b, 13)[:-1] for a, b in zip(source_beats[::24][:-1], source_beats[::24][1:])])
    changes = [source_beats[int(24 * b)] for b in np.cumsum([n for _, n in segments])[:-1]]
    judged = [due for due in onsets if not any(0 <= due - at < 60.0 / segments[-1][0] for at in changes)
              and grid[0] <= due <= grid[-1]]
    assert judged, "no onset to judge"
    for due in judged:
        line = grid[np.argmin(np.abs(grid - (due - (earliest + latest) / 2)))]
        assert earliest - timing.PLAN_EPSILON_S <= due - line <= latest + timing.PLAN_EPSILON_S, (
            f"an onset due {1000 * (due - line):.2f} ms after the source's grid line; its clock allows "
            f"{1000 * earliest:.2f}..{1000 * latest:.2f} ms")
    assert sounding_after([m for _, m in received if m.type in ("note_on", "note_off") and m.channel != 15]) == set(), \
        "the source's stop left nothing sounding"


def test_the_sources_stop_silences_the_answer_within_a_period(jack_server, tiny_preset, tmp_path):
    player = Player()
    source = ClockSource(player)
    log = tmp_path / "timing.jsonl"
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--clock", "in", "--answer-bars", "4",
                                                    "--quiet", "--log-timing", log)
    try:
        start = connect_all(player, source, livegen_in, livegen_out)
        clock_thread = threading.Thread(target=source.run, args=(start, ((120, 10),), threading.Event()))
        clock_thread.start()
        for index, pitch in enumerate([60, 64, 67]):
            _wait_until(start + (1 + index) * 0.5)
            player.send(mido.Message("note_on", channel=15, note=pitch, velocity=90))
            _wait_until(start + (1 + index + 0.6) * 0.5)
            player.send(mido.Message("note_off", channel=15, note=pitch))
        clock_thread.join()
        jackutil.wait_until(lambda: any(m.type == "stop" for _, m in list(player.ears.received)), "the stop heard")
    finally:
        code, errors = stop(process)
        source.close()
    received = list(player.ears.received)
    player.close()
    assert code == 0
    heard, sent = livegen_timing.read(log)
    stop_heard = next(h.at for h in heard if h.data == (0xFC,))
    answer = [s for s in sent if timing.is_note(s.data)]
    assert any(timing.is_on(s.data) for s in answer if s.at < stop_heard), \
        f"the answer had begun before the stop: {errors}"
    after = [s for s in answer if s.at >= stop_heard]
    assert not [s for s in after if timing.is_on(s.data)], "no new note after the stop"
    # livegen's reaction: the listener's poll, the engine's cancel, the scheduler's send.
    late = [round(1000 * (s.at - stop_heard), 2) for s in after if s.at - stop_heard > REACTION_BUDGET_S]
    assert not late, f"releases sent {late} ms after the stop was heard (budget {1000 * REACTION_BUDGET_S:g} ms)"
    timing.assert_trips([(s.at, s.data) for s in answer],
                        [(at, tuple(m.bytes())) for at, m in received if m.type in ("note_on", "note_off")
                         and m.channel != 15], "livegen -> player")
    assert sounding_after([m for _, m in received if m.type in ("note_on", "note_off") and m.channel != 15]) == set()


def test_as_clock_master_livegen_sends_steady_pulses_a_foreign_client_can_follow(jack_server, tiny_preset, tmp_path):
    player = Player()
    log = tmp_path / "timing.jsonl"
    # A DAW's port already exists when livegen starts, so livegen connects to it and the start
    # message reaches it (a virtual port connected later would miss it).
    command = [sys.executable, "-m", "livegen", "play", "--in", f"keys-{os.getpid()}", "--create", "--out",
               player.ears.address, "--preset", str(tiny_preset), "--send-clock", "--bpm", "125", "--quiet",
               "--log-timing", str(log)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    jackutil.STARTED.append(process)
    process.lines = queue.SimpleQueue()
    threading.Thread(target=lambda: [process.lines.put(line) for line in process.stderr], daemon=True).start()
    try:
        jackutil.wait_until(lambda: sum(m.type == "clock" for _, m in list(player.ears.received)) >= 8 * 24,
                            "eight beats of pulses heard", timeout=20)
        stopping = time.perf_counter()
    finally:
        code, errors = stop(process)
    received = list(player.ears.received)
    player.close()
    assert code == 0, errors
    kinds = [m.type for _, m in received]
    assert "start" in kinds and kinds[-1] == "stop", "start before the pulses, stop when livegen stops"
    assert kinds.index("start") < kinds.index("clock")
    _, sent = livegen_timing.read(log)
    pulses = [s for s in sent if s.data == (0xF8,)]
    # livegen's plan: a steady 125 bpm grid, each pulse sent within the budget of its deadline.
    due = np.array([s.due for s in pulses])
    steps = np.diff(due) * CLOCKS_PER_BEAT
    assert np.allclose(steps, 60.0 / 125, atol=timing.PLAN_EPSILON_S), "pulses due on a steady 125 bpm grid"
    timing.assert_sent_on_time(pulses, before=stopping)  # closing its ports, livegen may send late
    # The transport: every message livegen sent reached the DAW's port within one trip.
    timing.assert_trips([(s.at, s.data) for s in sent], [(at, tuple(m.bytes())) for at, m in received],
                        "livegen -> DAW")
