"""`livegen calibrate` through a real JACK loopback, and the offset `livegen play` then applies."""

import json
import os
import subprocess
import sys

import pytest

from livegen.live.scheduler import Scheduler, TimedNote
from tests import jackutil, timing
from tests.fakes import FakeClock, FakePort


def test_the_offset_moves_every_deadline_earlier():
    clock, port = FakeClock(10.0), FakePort()
    scheduler = Scheduler(port, now=clock, latency_offset=0.004)
    scheduler.play([TimedNote(10.010, 10.020, 60, 90)])
    assert scheduler.next_deadline() == pytest.approx(10.006)


@pytest.mark.jack
def test_calibrate_measures_a_loopback_saves_it_and_play_applies_it(jack_server, tiny_preset, tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "livegen", "calibrate", "--virtual", "--count", "10"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        jackutil.wait_for_port("livegen-out:answer", timeout=20)
        jackutil.wait_for_port("livegen:in", timeout=20)
        subprocess.run(["jack_connect", "livegen-out:answer", "livegen:in"], check=True, timeout=5)
        out, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    saved = json.loads((tmp_path / "livegen" / "latency.json").read_text())
    assert 0 < saved["livegen-out:answer"] <= 1000 * timing.hop(), "a loopback is the median of one trip"
    assert "round trip over 10 notes" in out
    played = subprocess.run([sys.executable, "-m", "livegen", "play", "--virtual", "--preset", str(tiny_preset),
                             "--duration", "0.5", "--quiet"], capture_output=True, text=True, timeout=60, env=env)
    assert played.returncode == 0, played.stderr
    assert f"sending {saved['livegen-out:answer']:g} ms early" in played.stderr
