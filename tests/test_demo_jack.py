"""`livegen demo` end to end: a real port, a recording, audio, and a JACK server it starts itself."""

import os
import subprocess
import sys

import pytest

from livegen.music.midifile import read_midi

pytestmark = pytest.mark.jack


def run_demo(tiny_preset, out_dir, env=None):
    environment = {**os.environ, **(env or {})}
    if env is not None:
        environment.pop("MIDO_BACKEND", None)  # let the demo find (or start) the MIDI system itself
    return subprocess.run([sys.executable, "-m", "livegen", "demo", "--preset", str(tiny_preset),
                           "--out-dir", str(out_dir)], capture_output=True, text=True, timeout=120,
                          env=environment)


def test_demo_plays_the_call_records_the_answer_and_renders_audio(jack_server, tiny_preset, tmp_path):
    result = run_demo(tiny_preset, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "You played 14 notes in G major over 2 bars at 100 bpm." in result.stdout
    assert "the next beat" in result.stdout
    session = read_midi(tmp_path / "demo-session.mid")
    assert len(session.notes) > 14, "the recording holds the call and an answer"
    wav = tmp_path / "demo-session.wav"
    assert wav.stat().st_size > 44100, "fluidsynth rendered the exchange"
    stats = subprocess.run(["sox", str(wav), "-n", "stat"], capture_output=True, text=True).stderr
    rms = float(next(line for line in stats.splitlines() if line.startswith("RMS     amplitude")).split(":")[1])
    assert rms > 0.001, "the rendered audio is not silent"


def test_demo_starts_jack_when_no_midi_system_runs_and_stops_it_after(jack_server, tiny_preset, tmp_path):
    server = f"livegen-demo-{os.getpid()}"
    result = run_demo(tiny_preset, tmp_path, env={"JACK_DEFAULT_SERVER": server})
    assert result.returncode == 0, result.stderr
    assert "starting 'jackd --no-realtime -d dummy" in result.stderr
    assert "stopped the JACK server started for the demo" in result.stderr
    still = subprocess.run(["jack_lsp"], capture_output=True, env={**os.environ, "JACK_DEFAULT_SERVER": server})
    assert still.returncode != 0, "the demo's own JACK server is gone"
