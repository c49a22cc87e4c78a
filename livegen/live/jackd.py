"""A JACK server with its dummy driver, for machines without a sound card: its command line, started and stopped."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from pathlib import Path

from livegen.errors import LivegenError

RATE = 48000
# The period of the server livegen starts (the demo, the tests): chosen by measurement on a shared
# 2-core VM (2026-12-07, BENCHMARKS.md), running the clock and robustness real-port tests (108-116 s
# each) under each setting, xruns counted in the server's log:
#
#   period (frames)    128    256    512
#   --no-realtime    1,031     23      0
#   --realtime         245     73      4
#
# At 128 frames (2.67 ms) a virtual CPU paused by its host for a few ms misses the period and JACK
# drops that period's MIDI for every client; at 512 (10.7 ms) it has room. Realtime mode does not
# help here (more xruns at 256 and 512: the server's threads at priority 70 starve the clients'
# own), so the server runs without it. What a message gains in delay is one period at most (the
# tests' tolerances derive from it: tests/timing.py); sub-millisecond precision is the bench's to
# measure, at a small period (livegen bench, with the xruns of its run).
PERIOD_FRAMES = 512
COMMAND = ("jackd", "--no-realtime", "-d", "dummy", "-r", str(RATE), "-p", str(PERIOD_FRAMES))
# The bench's own server, where none runs: the small period at which its sub-millisecond rows mean
# something (on a quiet machine; the bench reports the xruns of its run beside them).
PRECISION_COMMAND = ("jackd", "--no-realtime", "-d", "dummy", "-r", str(RATE), "-p", "128")
START_TIMEOUT_S = 10.0


class JackdError(LivegenError, OSError):
    """A JACK server started here that did not come up; the message carries the end of its log."""


def server_running() -> bool:
    """Whether a JACK server answers ``jack_lsp``."""
    try:
        return subprocess.run(["jack_lsp"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start(log_path: Path, command=COMMAND, timeout: float = START_TIMEOUT_S) -> subprocess.Popen:
    """Start ``command`` with its output in ``log_path`` and wait until clients reach it.

    A server that exits, or does not answer within ``timeout``, is stopped and raises JackdError.
    """
    shown = " ".join(command)
    with open(log_path, "wb") as log:
        server = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise JackdError(f"'{shown}' exited with code {server.returncode}: {_tail(log_path)}")
        if server_running():
            return server
        time.sleep(0.1)
    stop(server)
    raise JackdError(f"'{shown}' did not answer jack_lsp within {timeout:.0f} s: {_tail(log_path)}")


@contextlib.contextmanager
def serving(command=COMMAND, log=print, purpose: str = ""):
    """The JACK server that runs, or ``command`` started here (its log in a scratch folder) and
    stopped on the way out, each said in ``log`` (``purpose``: " for the demo"); yields whether it
    was started here."""
    if server_running():
        yield False
        return
    log(f"no JACK server is running: starting '{' '.join(command)}'{purpose}")
    with tempfile.TemporaryDirectory() as scratch:
        server = start(Path(scratch) / "jackd.log", command)
        try:
            yield True
        finally:
            stop(server)
            log(f"stopped the JACK server started{purpose}")


def stop(server: subprocess.Popen) -> None:
    """End this server (by its own handle, never by name) and reap it."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def _tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-400:]
