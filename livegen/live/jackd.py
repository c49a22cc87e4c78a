"""A JACK server with its dummy driver, for machines without a sound card: its command line, started and stopped."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

# 128 frames at 48 kHz (2.67 ms); smaller periods under-run on two cores.
DUMMY_DRIVER = ("-d", "dummy", "-r", "48000", "-p", "128")
COMMAND = ("jackd", "--no-realtime", *DUMMY_DRIVER)
REALTIME_COMMAND = ("jackd", "--realtime", "-P", "70", *DUMMY_DRIVER)
START_TIMEOUT_S = 10.0


class JackdError(OSError):
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
