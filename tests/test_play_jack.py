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
from tests import jackutil
from tests.fakes import sounding_after

pytestmark = pytest.mark.jack

BPM = 120
BEAT = 60 / BPM
PERIOD = 128 / 48000  # one JACK period: rtmidi's JACK output lands at the next period start
CALL = [67, 71, 74, 71, 72, 69, 66, 67]  # G major, two bars of quarters


class Player:
    """A foreign JACK client that plays into livegen and hears both itself and the answer."""

    def __init__(self):
        self.ears = jackutil.Collector()
        self.client_name = self.ears.client_name + "-keys"
        self.keys = mido.open_output("keys", client_name=self.client_name, virtual=True)
        self.address = f"{self.client_name}:keys"
        jackutil.wait_for_port(self.address)
        self.ears.connect_from(self.address)  # loopback: our own notes, on the same path livegen hears them

    def connect(self, livegen_in, livegen_out):
        subprocess.run(["jack_connect", self.address, livegen_in], check=True, timeout=5)
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


def start_livegen(preset_dir, tmp_path, *extra, ports=("--virtual",)):
    """Run `livegen play --virtual` (or on ``ports``) and wait for its ready line; returns (process, in port, out port)."""
    command = [sys.executable, "-m", "livegen", "play", *ports, "--preset", str(preset_dir), "--bpm", str(BPM),
               "--seed", "3", "--record", str(tmp_path / "session.mid"), *map(str, extra)]
    # PYTHONFAULTHANDLER: a livegen that hangs is stopped with SIGABRT and prints every thread's stack.
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"})
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
        time.sleep(0.2)
        pytest.fail("livegen play did not stop within 10 s; what it printed:\n" + printed_since_ready(process))
    time.sleep(0.1)
    return process.returncode, printed_since_ready(process)


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
    player.connect(*process_ports) if len(process_ports) == 2 else \
        subprocess.run(["jack_connect", player.address, process_ports[0]], check=True, timeout=5)
    time.sleep(0.3)
    play_notes(player, pitches)


def play_notes(player, pitches=CALL, velocity=90):
    """Quarter notes on channel 16 at BPM, on ports already connected; returns when the last key is up."""
    start = time.perf_counter() + 0.05
    for index, pitch in enumerate(pitches):
        _wait_until(start + index * BEAT)
        player.keys.send(mido.Message("note_on", channel=15, note=pitch, velocity=velocity))
        _wait_until(start + (index + 0.8) * BEAT)
        player.keys.send(mido.Message("note_off", channel=15, note=pitch))


def play_and_hear_answer(player, preset_dir, tmp_path, bars, *flags, pitches=CALL) -> str:
    """Run livegen answering ``bars`` bars, play ``pitches`` into it, wait out the answer and stop it
    (it must exit cleanly); returns what livegen printed on stderr."""
    process, livegen_in, livegen_out = start_livegen(preset_dir, tmp_path, "--answer-bars", str(bars), "--quiet",
                                                     *flags)
    try:
        play_call(player, (livegen_in, livegen_out), pitches)
        time.sleep(2 * BEAT + bars * 4 * BEAT + 0.5)  # phrase end, the next beat, the answer, and a margin
    finally:
        code, errors = stop(process)
    assert code == 0, errors
    return errors


def test_answer_lands_on_the_next_beat_and_every_note_ends_at_its_length(player, tiny_preset, tmp_path):
    errors = play_and_hear_answer(player, tiny_preset, tmp_path, 2)
    own = [(t, m) for t, m in player.heard(own=True) if m.type == "note_on"]
    answer = player.heard(own=False)
    assert answer, f"no answer arrived; livegen said: {errors}"
    downbeat = own[0][0]  # the first call note, seen through the same JACK path livegen hears it on
    last_release = max(t for t, m in player.heard(own=True) if m.type == "note_off")
    first_on = min(t for t, m in answer if m.type == "note_on" and m.velocity > 0)
    phrase_end = last_release + BEAT
    expected_beat = -(-(phrase_end - downbeat) // BEAT)
    expected = downbeat + expected_beat * BEAT
    assert abs(first_on - expected) <= PERIOD + 0.0015, (
        f"first answer note {1000 * (first_on - downbeat):.2f} ms after the downbeat; "
        f"beat {expected_beat:.0f} is at {1000 * (expected - downbeat):.2f} ms")
    starts = {}
    for at, message in answer:
        if message.type not in ("note_on", "note_off"):
            continue
        key = (message.channel, message.note)
        if message.type == "note_on" and message.velocity > 0:
            starts[key] = at
        elif message.type in ("note_on", "note_off") and key in starts:
            length_ticks = (at - starts.pop(key)) / BEAT * codec.TICKS_PER_BEAT
            assert abs(length_ticks - round(length_ticks)) * BEAT / codec.TICKS_PER_BEAT <= PERIOD + 0.0015
        if message.type == "note_on" and message.velocity > 0:
            ticks = (at - downbeat) / BEAT * codec.TICKS_PER_BEAT
            assert abs(ticks - round(ticks)) * BEAT / codec.TICKS_PER_BEAT <= PERIOD + 0.0015, "onset off the grid"
    assert not starts, f"notes without their note-off: {starts}"
    assert sounding_after(m for _, m in answer) == set()
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
        time.sleep(0.3)
        for control in (74, 74, 75):
            player.keys.send(mido.Message("control_change", channel=15, control=control, value=64))
            time.sleep(0.1)
        deadline = time.monotonic() + 5
        while not knob_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        code, errors = stop(process)
    assert code == 0, errors
    assert json.loads(knob_file.read_text()) == {"key-lock": 75, "temperature": 74}
    assert "temperature -> CC 74; now move the knob for key-lock" in errors


def test_accompany_plays_along_on_the_grid_and_the_players_notes_pass_straight_through(player, tiny_preset,
                                                                                         tmp_path):
    synth = jackutil.Collector()  # hears livegen's output only: the thru copies and the model's notes
    melody = CALL + CALL[::-1]  # four bars of quarters
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--mode", "accompany", "--thru",
                                                    "--out-channel", "2", "--rest-bars", "1", "--quiet")
    try:
        synth.connect_from(livegen_out)
        play_call(player, (livegen_in,), melody)
        time.sleep(3 * 4 * BEAT)  # the rest: one bar of silence, the bar it finishes, and a margin
    finally:
        code, errors = stop(process)
        synth.close()
    assert code == 0, errors
    own = [(t, m) for t, m in player.heard(own=True) if m.type == "note_on" and m.velocity > 0]
    downbeat, last_release = own[0][0], max(t for t, m in player.heard(own=True) if m.type == "note_off")
    model = [(t, m) for t, m in synth.received if getattr(m, "channel", None) == 1]
    thru = [(t, m) for t, m in synth.received if getattr(m, "channel", None) == 15 and m.type == "note_on"]
    onsets = [t for t, m in model if m.type == "note_on" and m.velocity > 0]
    assert sum(downbeat < t < last_release for t in onsets) >= 8, f"{len(onsets)} model notes; livegen: {errors}"
    for at in onsets:
        ticks = (at - downbeat) / BEAT * codec.TICKS_PER_BEAT
        assert abs(ticks - round(ticks)) * BEAT / codec.TICKS_PER_BEAT <= PERIOD + 0.0015, "onset off the grid"
    assert max(onsets) < last_release + 3 * 4 * BEAT, "the model rests once the player has stopped"
    # The player's own notes are passed on at once, also while the model plays.
    assert len(thru) == len(own) == len(melody)
    delays = [t - heard for (t, _), (heard, _) in zip(thru, own)]
    assert max(delays) <= 3 * PERIOD + 0.003, f"thru delays {[round(1000 * d, 2) for d in delays]} ms"
    assert sounding_after(m for _, m in model) == set()


def test_the_answer_reaches_every_output_and_thru_to_sends_the_player_elsewhere(player, tiny_preset, tmp_path):
    synth, daw, recorder_track = jackutil.Collector(), jackutil.Collector(), jackutil.Collector()
    process, livegen_in, livegen_out = start_livegen(
        tiny_preset, tmp_path, "--answer-bars", "1", "--also-out", daw.address, "--thru-to", recorder_track.address,
        "--quiet")
    try:
        synth.connect_from(livegen_out)
        play_call(player, (livegen_in,))
        time.sleep(2 * BEAT + 4 * BEAT + 0.5)
        player.keys.send(mido.Message("note_on", channel=15, note=60, velocity=90))  # held as the session ends
        time.sleep(0.2)
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
