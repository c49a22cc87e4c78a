"""A bug is not a user's mistake: its traceback is kept in a log file (and shown with --debug), and the
command says so in one line; what the user can fix stays one line without a traceback."""

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from livegen.cli import cli
from livegen.errors import LivegenError
from livegen.live.ports import PortError
from livegen.model.preset import PresetError

# livegen play with a bug put into the engine thread's work: the companion's tick raises.
WITH_A_BUG = """
import sys
from livegen.live.engine import companion
def tick(self, now):
    raise ZeroDivisionError("an injected bug")
companion.Companion.tick = tick
from livegen.cli import main
sys.argv[0] = "livegen"
main()
"""


def test_the_errors_a_user_can_fix_are_one_family():
    assert issubclass(PortError, LivegenError) and issubclass(PresetError, LivegenError)
    result = CliRunner().invoke(cli, ["generate", "--preset", "no-such-preset", "--prime",
                                      "livegen/demo/phrases/call-d-minor.mid", "-o", "unused.mid"])
    assert result.exit_code == 1 and result.output.startswith("Error: no preset called 'no-such-preset'")
    assert "Traceback" not in result.output and "bug" not in result.output


@pytest.mark.jack
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_bug_in_the_engine_thread_is_kept_in_a_log_and_shown_with_debug(jack_server, tiny_preset, tmp_path, debug):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    command = [sys.executable, "-c", WITH_A_BUG, *(["--debug"] if debug else []), "play", "--virtual",
               "--preset", str(tiny_preset), "--duration", "5", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1, result.stderr
    logs = list((tmp_path / "state" / "livegen").glob("bug-*.log"))
    assert len(logs) == 1, result.stderr
    kept = logs[0].read_text()
    assert "Traceback" in kept and "ZeroDivisionError: an injected bug" in kept and "in tick" in kept
    assert "stopped: a bug in livegen's livegen-engine thread" in result.stderr
    assert f"livegen hit a bug (ZeroDivisionError: an injected bug) while it played; the traceback is in {logs[0]}" \
        in result.stderr
    if debug:
        assert "Traceback (most recent call last)" in result.stderr and "in tick" in result.stderr
    else:
        assert "Traceback" not in result.stderr and "(run with --debug to see it here)" in result.stderr


def test_a_plain_value_error_is_a_bug_with_its_traceback_kept_not_a_users_mistake(monkeypatch, tmp_path):
    from livegen.model import preset

    def broken(name):
        raise ValueError("an internal check failed")

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(preset, "load", broken)
    result = CliRunner().invoke(cli, ["generate", "--preset", "chorale", "--prime",
                                      "livegen/demo/phrases/call-d-minor.mid", "-o", str(tmp_path / "o.mid")])
    (log,) = (tmp_path / "state" / "livegen").glob("bug-*.log")
    assert result.exit_code == 1
    assert result.output.startswith("Error: livegen hit a bug (ValueError: an internal check failed) while it ran "
                                    f"'livegen generate'; the traceback is in {log}")
    assert "in broken" in log.read_text()
