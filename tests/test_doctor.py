"""`livegen doctor`: without a MIDI system, with JACK at 512 frames, and at 128 frames with a client that stalls."""

import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from livegen.cli import cli
from livegen.live import doctor, jackd
from tests import jackutil


def test_a_power_saving_governor_is_named_with_the_command_that_changes_it(tmp_path):
    for cpu, governor in (("cpu0", "performance"), ("cpu1", "powersave")):
        (tmp_path / cpu / "cpufreq").mkdir(parents=True)
        (tmp_path / cpu / "cpufreq" / "scaling_governor").write_text(governor + "\n")
    finding = doctor.cpu_governor(tmp_path)
    assert not finding.ok and finding.found == "performance, powersave"
    assert "frequency-set -g performance" in finding.fix
    assert doctor.cpu_governor(tmp_path / "nothing-here").ok, "a VM without cpufreq has nothing to set"


def test_without_any_midi_system_it_says_how_to_start_one(monkeypatch, tmp_path):
    monkeypatch.setattr(doctor, "ALSA_SEQUENCER", str(tmp_path / "no-seq"))
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"livegen-nobody-{os.getpid()}")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    result = CliRunner().invoke(cli, ["doctor", "--seconds", "1"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("PROBLEM  MIDI system") and "no JACK server is running" in lines[0]
    assert f"start JACK: '{' '.join(jackd.COMMAND)}'" in lines[1]
    assert any(line.startswith("ok       presets") for line in lines), "the presets are checked all the same"
    assert "xruns" not in result.output, "no JACK: nothing to watch"


def run_doctor(server_name=None):
    env = {**os.environ, "JACK_NO_START_SERVER": "1"}
    if server_name is not None:
        env["JACK_DEFAULT_SERVER"] = server_name
    return subprocess.Popen([sys.executable, "-m", "livegen", "doctor", "--seconds", "3"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.jack
def test_with_jack_at_512_frames_it_reports_the_period_and_the_trip(jack_server):
    process = run_doctor()
    out, errors = process.communicate(timeout=60)
    assert "MIDI system  JACK at 512 frames / 48000 Hz (10.7 ms a period), not realtime" in out, out + errors
    xruns = next(line for line in out.splitlines() if "xruns" in line)
    # A quiet run has none; a host that stalled gets the next period to try, never a smaller one.
    assert xruns.startswith("ok") and "none in" in xruns or "restart it with -p 1024" in out, out
    trip = next(line for line in out.splitlines() if "round trip" in line)
    assert "client to client: median" in trip and "periods" in trip


def ports_of(env) -> str | None:
    """``jack_lsp``'s listing of the server ``env`` names, or None when it does not answer within a second
    (a server busy with a client coming or going can keep a new client waiting)."""
    try:
        listing = subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True, timeout=1)
    except subprocess.TimeoutExpired:
        return None
    return listing.stdout if listing.returncode == 0 else None


@pytest.mark.jack
def test_with_jack_at_128_frames_and_a_stalled_client_it_says_to_raise_the_period(jack_server, tmp_path):
    name = f"livegen-doctor-{os.getpid()}"
    command = ("jackd", "-n", name, *jackd.PRECISION_COMMAND[1:])
    env = {**os.environ, "JACK_DEFAULT_SERVER": name}
    with open(tmp_path / "jackd.log", "wb") as log:
        server = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT, env=env)
        keyboard = None
        try:
            jackutil.wait_until(lambda: ports_of(env) is not None, "the second JACK server answers")
            keyboard = subprocess.Popen([sys.executable, "-c", jackutil.KEYBOARD_SCRIPT, "stalls"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
            assert keyboard.stdout.readline().strip() == "ready"
            process = run_doctor(name)
            jackutil.wait_until(lambda: "livegen-transport" in (ports_of(env) or ""),
                                "the doctor's probe on the server")
            keyboard.send_signal(signal.SIGSTOP)  # a client that stops answering JACK, as a stalled one does
            time.sleep(0.5)
            keyboard.send_signal(signal.SIGCONT)
            out, errors = process.communicate(timeout=60)
        finally:
            if keyboard is not None:
                keyboard.kill()
                keyboard.wait(timeout=10)
            jackd.stop(server)
    assert process.returncode == 1, out + errors
    assert "JACK at 128 frames / 48000 Hz (2.7 ms a period)" in out
    assert "PROBLEM  xruns        JACK at 128 frames had" in out
    assert "-> restart it with -p 256" in out
