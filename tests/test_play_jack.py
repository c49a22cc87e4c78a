"""`livegen play` as a separate process on real JACK ports, heard by a foreign JACK client."""

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import mido
import pytest

from livegen.music import codec
from livegen.music.key import Key
from livegen.music.midifile import read_midi
from livegen.live import timing as livegen_timing
from livegen.live.listener import POLL_SECONDS
from livegen.live.scheduler import SWITCH_INTERVAL_S
from tests import jackutil, timing
from tests.fakes import sounding_after

pytestmark = pytest.mark.jack

BPM = 120
BEAT = 60 / BPM
# From the listener's stamp to the thru copy's send: a poll of the input's queue, the GIL for the
# listener (one switch interval), then the scheduler's send budget. A test's median keeps to it;
# no single one is judged closer than it and a stall of the host (tests/timing.py).
THRU_BUDGET_S = POLL_SECONDS + SWITCH_INTERVAL_S + timing.SEND_BUDGET_S
CALL = [67, 71, 74, 71, 72, 69, 66, 67]  # G major, two bars of quarters


class Player:
    """A foreign JACK client that plays into livegen and hears both itself and the answer."""

    def __init__(self):
        self.ears = jackutil.Collector()
        self.client_name = self.ears.client_name + "-keys"
        self.keys = mido.open_output("keys", client_name=self.client_name, virtual=True)
        self.address = f"{self.client_name}:keys"
        self.sent: list[tuple[float, tuple]] = []  # (when it left, bytes) of each message played
        jackutil.wait_for_port(self.address)
        self.ears.connect_from(self.address)  # loopback: our own notes, on the same path livegen hears them

    def send(self, message):
        self.keys.send(message)
        self.sent.append((time.perf_counter(), tuple(message.bytes())))

    def connect(self, livegen_in, livegen_out):
        subprocess.run(["jack_connect", self.address, livegen_in], check=True, timeout=5)
        jackutil.wait_for_connection(self.address, livegen_in)
        self.ears.connect_from(livegen_out)

    def heard(self, own: bool):
        """(time, message) received: our own notes (channel 16) through the loopback, or the answer."""
        return [(t, m) for t, m in list(self.ears.received)
                if hasattr(m, "channel") and (m.channel == 15) == own]

    def close(self):
        self.keys.close()
        self.ears.close()


def _wait_until(moment):
    while time.perf_counter() < moment:
        time.sleep(max(0.0, min(0.001, moment - time.perf_counter())))


def start_livegen(preset_dir, tmp_path, *extra, ports=("--virtual",), wrap=None):
    """Run `livegen play --virtual` (or on ``ports``) and wait for its ready line; returns (process, in port, out port).

    ``wrap``: livegen's command line -> the command that runs it (a process talked to on stdin/stdout).
    """
    command = [sys.executable, "-m", "livegen", "play", *ports, "--preset", str(preset_dir), "--bpm", str(BPM),
               "--seed", "3", "--record", str(tmp_path / "session.mid"), *map(str, extra)]
    pipes = {} if wrap is None else {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
    # PYTHONFAULTHANDLER: a livegen that hangs is stopped with SIGABRT and prints every thread's stack.
    process = subprocess.Popen(command if wrap is None else wrap(command), stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}, **pipes)
    jackutil.STARTED.append(process)
    lines = queue.SimpleQueue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        found = re.search(r"in '([^']+)', out '([^']+)'", line)
        if found:
            process.lines = lines
            return process, found.group(1), found.group(2)
    process.kill()
    pytest.fail(f"livegen play did not get ready: {''.join(seen)}")


def stop(process, how=signal.SIGTERM):
    """Signal livegen, wait for it to exit; returns its exit code and what it printed after ready."""
    process.send_signal(how)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # the fault handler prints where each thread stands
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        pytest.fail("livegen play did not stop within 10 s; what it printed:\n" + printed_since_ready(process))
    jackutil.catch_up()  # what livegen sent before it closed its ports is read by every probe
    return process.returncode, printed_since_ready(process)


def wait_for_line(process, text, timeout=10.0):
    """Wait until livegen prints a line containing ``text``; returns every line it printed meanwhile."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = process.lines.get(timeout=0.1)
        except queue.Empty:
            assert process.poll() is None, f"livegen exited ({process.returncode}): {''.join(seen)}"
            continue
        seen.append(line)
        if text in line:
            return "".join(seen)
    pytest.fail(f"livegen did not say {text!r} within {timeout} s: {''.join(seen)}")


def printed_since_ready(process) -> str:
    printed = []
    while True:
        try:
            printed.append(process.lines.get_nowait())
        except queue.Empty:
            return "".join(printed)


@pytest.fixture
def player(jack_server):
    player = Player()
    yield player
    player.close()


def play_call(player, process_ports, pitches=CALL):
    """Play quarter notes on channel 16 at BPM into livegen; returns when the last key is up.

    ``process_ports`` is (livegen's input, its output), or only its input when the player's ears
    should not hear livegen.
    """
    if len(process_ports) == 2:
        player.connect(*process_ports)
    else:
        subprocess.run(["jack_connect", player.address, process_ports[0]], check=True, timeout=5)
        jackutil.wait_for_connection(player.address, process_ports[0])
    play_notes(player, pitches)


def play_notes(player, pitches=CALL, velocity=90):
    """Quarter notes on channel 16 at BPM, on ports already connected; returns when the last key is up."""
    start = time.perf_counter() + 0.05
    for index, pitch in enumerate(pitches):
        _wait_until(start + index * BEAT)
        player.send(mido.Message("note_on", channel=15, note=pitch, velocity=velocity))
        _wait_until(start + (index + 0.8) * BEAT)
        player.send(mido.Message("note_off", channel=15, note=pitch))


def wait_for_answer(player, since: float, bars: int) -> None:
    """Wait until the player has heard an answer that began after ``since`` play out: ``bars`` bars
    from its first note, with nothing left sounding."""
    timeout = 10.0 + bars * 4 * BEAT
    def answer():
        return [(t, m) for t, m in player.heard(own=False) if t >= since and m.type in ("note_on", "note_off")]

    jackutil.wait_until(lambda: any(m.type == "note_on" and m.velocity > 0 for _, m in answer()),
                        "an answer began", timeout)
    began = min(t for t, m in answer() if m.type == "note_on" and m.velocity > 0)
    jackutil.wait_until(lambda: time.perf_counter() >= began + bars * 4 * BEAT
                        and not sounding_after(m for _, m in answer()), f"the {bars}-bar answer ended", timeout)


def play_and_hear_answer(player, preset_dir, tmp_path, bars, *flags, pitches=CALL) -> str:
    """Run livegen answering ``bars`` bars, play ``pitches`` into it, wait out the answer and stop it
    (it must exit cleanly); returns what livegen printed on stderr. Its timing log is ``tmp_path/timing.jsonl``."""
    process, livegen_in, livegen_out = start_livegen(preset_dir, tmp_path, "--answer-bars", str(bars), "--quiet",
                                                     "--log-timing", tmp_path / "timing.jsonl", *flags)
    try:
        started = time.perf_counter()
        play_call(player, (livegen_in, livegen_out), pitches)
        wait_for_answer(player, started, bars)
    finally:
        code, errors = stop(process)
    assert code == 0, errors
    return errors


def test_answer_lands_on_the_next_beat_and_every_note_ends_at_its_length(player, tiny_preset, tmp_path):
    errors = play_and_hear_answer(player, tiny_preset, tmp_path, 2)
    heard, sent = livegen_timing.read(tmp_path / "timing.jsonl")
    assert [s for s in sent if timing.is_note(s.data)], f"no answer was sent; livegen said: {errors}"
    timing.check_answer_plan(heard, sent, BEAT, codec.TICKS_PER_BEAT)
    # The transport: the call into livegen, the answer out to the player's ears.
    timing.assert_trips(player.sent, [(h.at, h.data) for h in heard], "player -> livegen")
    timing.assert_trips([(s.at, s.data) for s in sent], [(at, tuple(m.bytes())) for at, m in player.heard(own=False)],
                        "livegen -> player")
    assert sounding_after(m for _, m in player.heard(own=False)) == set()
    recorded = read_midi(tmp_path / "session.mid")
    assert len(recorded.notes) >= len(CALL) + 1, "the recording holds the call and the answer"


HOMECOMING = [71, 71, 76, 71, 74, 78, 80, 69]  # B B E B D F# G# A: by its notes E major, by a hair; it ends on A


def test_a_lone_melody_that_comes_home_is_answered_in_the_key_it_ends_on(player, tiny_preset, tmp_path):
    """Key-locked, the answer keeps to the scale livegen heard the call in: A major's, without E major's D-sharp."""
    errors = play_and_hear_answer(player, tiny_preset, tmp_path, 8, "--key-lock", pitches=HOMECOMING)
    pitch_classes = {m.note % 12 for _, m in player.heard(own=False) if m.type == "note_on" and m.velocity > 0}
    assert pitch_classes, f"no answer arrived; livegen said: {errors}"
    assert pitch_classes <= Key(9, "major").scale(), sorted(pitch_classes)


D_MINOR_CALL = [62, 65, 69, 67, 65, 64, 61, 62]  # D F A G F E C# D


def test_the_answer_closes_on_the_calls_tonic_chord_from_a_bar_line_to_its_end(player, tiny_preset, tmp_path):
    errors = play_and_hear_answer(player, tiny_preset, tmp_path, 2, pitches=D_MINOR_CALL)
    downbeat = min(at for at, m in player.heard(own=True) if m.type == "note_on")  # the call's first note: bar 0
    answer = [(at, m) for at, m in player.heard(own=False) if m.type in ("note_on", "note_off")]
    starts = [(at, m.note) for at, m in answer if m.type == "note_on" and m.velocity > 0]
    assert starts, f"no answer arrived; livegen said: {errors}"
    last = max(at for at, _ in starts)
    chord = {note for at, note in starts if at > last - 0.005}  # one onset: within a few milliseconds
    assert min(chord) % 12 == 2 and {note % 12 for note in chord} <= {2, 5, 9}, sorted(chord)  # D F A over D
    bars = (last - downbeat) / (4 * BEAT)
    assert abs(bars - round(bars)) < 0.01, f"the last chord starts {bars:.3f} bars after the call's downbeat"
    ends = {m.note: at for at, m in answer if at >= last and (m.type == "note_off" or m.velocity == 0)}
    final = max(at for at, m in answer if m.type == "note_off" or m.velocity == 0)
    assert all(final - ends[note] < 0.005 for note in chord), "the chord is held to the answer's end"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_stopping_mid_answer_leaves_nothing_sounding(player, tiny_preset, tmp_path, how):
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--answer-bars", "8", "--quiet")
    try:
        play_call(player, (livegen_in, livegen_out))
        deadline = time.monotonic() + 4
        while not any(m.type == "note_on" for _, m in player.heard(own=False)) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(1.0)
    finally:
        code, errors = stop(process, how)
    time.sleep(0.1)
    answer = [m for _, m in player.heard(own=False)]
    assert any(m.type == "note_on" for m in answer), errors
    assert code == 0, errors
    assert sounding_after(answer) == set()
    controls = {(m.control, m.value) for m in answer if m.type == "control_change"}
    assert {(64, 0), (123, 0), (120, 0)} <= controls
    assert "stopped by" in errors
    assert (tmp_path / "session.mid").exists(), "the recording is written on every exit path"


def test_a_synth_that_disappears_ends_the_session_with_a_clear_message(jack_server, tiny_preset, tmp_path):
    synth = jackutil.Collector()
    command = [sys.executable, "-m", "livegen", "play", "--in", "nothing-here", "--create", "--out", synth.address,
               "--preset", str(tiny_preset), "--quiet", "--record", str(tmp_path / "lost.mid")]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        jackutil.wait_for_port("livegen:nothing-here", timeout=20)
        synth.close()
        _, errors = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1
    assert f"the MIDI output {synth.address!r} disappeared" in errors
    assert "Traceback" not in errors
    assert (tmp_path / "lost.mid").exists()


def test_the_program_change_reaches_the_synth_first_on_the_answer_channel(jack_server, tiny_preset, tmp_path):
    synth = jackutil.Collector()
    command = [sys.executable, "-m", "livegen", "play", "--in", f"keys-{os.getpid()}", "--create", "--out",
               synth.address, "--preset", str(tiny_preset), "--program", "20", "--out-channel", "3",
               "--duration", "1", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    received = synth.messages()
    synth.close()
    assert result.returncode == 0, result.stderr
    assert received[0] == mido.Message("program_change", channel=2, program=19)


def test_midi_learn_over_real_ports_saves_the_knobs_it_was_shown(player, tiny_preset, tmp_path):
    knob_file = tmp_path / "knobs.json"
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--learn", knob_file,
                                                    "--learn-knobs", "temperature,key-lock", "--quiet")
    try:
        player.connect(livegen_in, livegen_out)
        player.send(mido.Message("control_change", channel=15, control=74, value=64))
        learned = wait_for_line(process, "temperature -> CC 74; now move the knob for key-lock")
        for control in (74, 75):  # the knob already learned, again: it is not taken for the next
            player.send(mido.Message("control_change", channel=15, control=control, value=64))
        learned += wait_for_line(process, "saved the knobs to")
    finally:
        code, errors = stop(process)
    assert code == 0, errors + learned
    assert json.loads(knob_file.read_text()) == {"key-lock": 75, "temperature": 74}


def test_accompany_plays_along_on_the_grid_and_the_players_notes_pass_straight_through(player, tiny_preset,
                                                                                         tmp_path):
    synth = jackutil.Collector()  # hears livegen's output only: the thru copies and the model's notes
    melody = CALL + CALL[::-1]  # four bars of quarters
    log = tmp_path / "timing.jsonl"
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--mode", "accompany", "--thru",
                                                    "--out-channel", "2", "--rest-bars", "1", "--quiet",
                                                    "--log-timing", log)
    try:
        synth.connect_from(livegen_out)
        play_call(player, (livegen_in,), melody)
        time.sleep(3 * 4 * BEAT)  # the rest: one bar of silence, the bar it finishes, and a margin
    finally:
        code, errors = stop(process)
        synth.close()
    assert code == 0, errors
    heard, sent = livegen_timing.read(log)
    # livegen's own record: the model's notes due on the grid from the first note it heard, sent on time.
    downbeat = next(h.at for h in heard if timing.is_on(h.data))
    last_release = max(h.at for h in heard if timing.is_note(h.data) and not timing.is_on(h.data))
    model = [s for s in sent if timing.is_note(s.data) and s.data[0] & 0x0F == 1 and s.due is not None]
    onsets = [s.due for s in model if timing.is_on(s.data)]
    assert sum(downbeat < due < last_release for due in onsets) >= 8, f"{len(onsets)} model notes; livegen: {errors}"
    assert max(timing.off_grid(due, downbeat, BEAT / codec.TICKS_PER_BEAT) for due in onsets) <= timing.PLAN_EPSILON_S
    assert max(onsets) < last_release + 3 * 4 * BEAT, "the model rests once the player has stopped"
    timing.assert_sent_on_time(model)
    # The player's own notes are passed on at once, also while the model plays: from the listener's
    # stamp to the send, at most a poll of its queue and the send budget.
    played = [h for h in heard if timing.is_note(h.data)]
    passed = [s for s in sent if timing.is_note(s.data) and s.data[0] & 0x0F == 15]
    assert [s.data for s in passed] == [h.data for h in played] and len(played) == 2 * len(melody)
    delays = sorted(s.at - h.at for h, s in zip(played, passed))
    shown = [round(1000 * d, 2) for d in delays]
    assert delays[len(delays) // 2] <= THRU_BUDGET_S, f"thru sent {shown} ms after it was heard"
    assert delays[-1] <= THRU_BUDGET_S + timing.HOST_STALL_S, f"thru sent {shown} ms after it was heard"
    # The transport, each way, for every message.
    timing.assert_trips(player.sent, [(h.at, h.data) for h in heard], "player -> livegen")
    timing.assert_trips([(s.at, s.data) for s in sent], [(at, tuple(m.bytes())) for at, m in synth.received],
                        "livegen -> synth")
    assert sounding_after(m for _, m in synth.received if getattr(m, "channel", None) == 1) == set()


def test_the_answer_reaches_every_output_and_thru_to_sends_the_player_elsewhere(player, tiny_preset, tmp_path):
    synth, daw, recorder_track = jackutil.Collector(), jackutil.Collector(), jackutil.Collector()
    process, livegen_in, livegen_out = start_livegen(
        tiny_preset, tmp_path, "--answer-bars", "1", "--also-out", daw.address, "--thru-to", recorder_track.address,
        "--quiet")
    try:
        synth.connect_from(livegen_out)
        play_call(player, (livegen_in,))
        jackutil.wait_until(lambda: [m for _, m in synth.received if m.type == "note_on" and m.channel != 15]
                            and not sounding_after(m for _, m in synth.received if m.type in ("note_on", "note_off")
                                                   and m.channel != 15), "the one-bar answer heard to its end")
        player.send(mido.Message("note_on", channel=15, note=60, velocity=90))  # held as the session ends
        jackutil.wait_until(lambda: any(m.type == "note_on" and m.note == 60 for _, m in recorder_track.received),
                            "the held key passed to the thru port")
    finally:
        code, errors = stop(process)
    heard = {name: [m for _, m in probe.received if m.type in ("note_on", "note_off")]
             for name, probe in (("synth", synth), ("daw", daw), ("thru", recorder_track))}
    for probe in (synth, daw, recorder_track):
        probe.close()
    assert code == 0, errors
    answer = [m for m in heard["synth"] if m.type == "note_on" and m.velocity > 0]
    assert answer, f"no answer; livegen said: {errors}"
    assert heard["daw"] == heard["synth"], "every output hears the same answer"
    assert all(m.channel == 15 for m in heard["thru"]), "only the player's notes go to --thru-to"
    played = [m.note for m in heard["thru"] if m.type == "note_on" and m.velocity > 0]
    assert played == CALL + [60]
    assert not [m for m in heard["synth"] if m.channel == 15], "--thru-to takes the player's notes off the answer"
    thru_all = [m for _, m in recorder_track.received]
    assert sounding_after(thru_all) == set(), "the key held at the end is released on the thru port too"
