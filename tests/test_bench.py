"""`livegen bench --quick` as a smoke test: it runs and reports every row (no timing asserts here)."""

import json
import subprocess
import sys

import pytest


# Its JACK rows open real ports on the session's server: a real-port test, run with the others (a bench
# left among the in-process tests would open its ports on whatever server happened to be running).
@pytest.mark.jack
def test_quick_bench_runs_and_reports_every_live_row(jack_server, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "livegen", "bench", "--quick", "--no-compare", "--json", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    numbers = json.loads(out.read_text())
    assert {"step", "sampling", "readiness", "scheduler", "startup", "machine"} <= set(numbers)
    assert numbers["startup"]["heavy_modules_loaded"] == "", "the live process loads no TensorFlow/music21"
    assert numbers["scheduler"]["messages"] > 0
    assert "| model step (numpy, 256x2, hearing 8 voices) |" in result.stdout
    assert numbers["step_without_voices"]["p99_ms"] > 0
    assert numbers["jack_server"]["started_here"] is False, "the bench used the running server"
    assert numbers["jack"]["notes"] > 0 and numbers["answer_on_jack"]["phrases"] >= 1
