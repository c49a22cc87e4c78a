"""JACK helpers for tests: who is connected to whom, waiting for ports, and a probe that records what it hears."""

import itertools
import os
import subprocess
import sys
import time

import mido

from livegen.live import ports
from livegen.live.listener import Listener

_probe_numbers = itertools.count()
STARTED: list[subprocess.Popen] = []  # processes a test started (livegen, keyboards); conftest ends any left running
OPEN: list["Collector"] = []  # probes listening now


LSP_TIMEOUT_S = 2.0
LSP_HANGS: list[float] = []  # when a jack_lsp hung (conftest reports them): asked again, never a test's failure


def _jack_lsp_connections() -> dict[str, set[str]] | None:
    """Every JACK port, with the ports it is connected to; None when jack_lsp did not answer in time.

    A jack_lsp now and then hangs while the server handles another client's opening (seen once in
    ~12 fresh-clone runs: 5 s while livegen calibrate opened its ports): the waits below ask again
    until their own deadline instead of failing on it.
    """
    try:
        listing = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True, timeout=LSP_TIMEOUT_S,
                                 check=True).stdout
    except subprocess.TimeoutExpired:
        LSP_HANGS.append(time.monotonic())
        return None
    ports: dict[str, set[str]] = {}
    port = None
    for line in listing.splitlines():
        if line.startswith(" "):
            ports[port].add(line.strip())
        elif line:
            port = line
            ports[port] = set()
    return ports


def connections(port_name: str) -> set[str] | None:
    """The ports ``port_name`` is connected to (empty when it has none or does not exist; None: jack_lsp hung)."""
    listed = _jack_lsp_connections()
    return None if listed is None else listed.get(port_name, set())


def wait_until(condition, what: str, timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` did not happen within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.01)


def wait_for_port(name: str, timeout: float = 2.0) -> None:
    """Wait until JACK lists the port ``name``; fail naming the ports it does list."""
    deadline = time.monotonic() + timeout
    while name not in (ports := _jack_lsp_connections() or {}):
        if time.monotonic() > deadline:
            raise AssertionError(f"JACK port {name!r} did not appear within {timeout} s; ports: {sorted(ports)}")
        time.sleep(0.02)


def wait_until_gone(name: str, timeout: float = 5.0) -> None:
    """Wait until JACK no longer lists the port ``name``."""
    deadline = time.monotonic() + timeout
    while (listed := _jack_lsp_connections()) is None or name in listed:
        if time.monotonic() > deadline:
            raise AssertionError(f"JACK port {name!r} still there after {timeout} s")
        time.sleep(0.02)


def wait_for_connection(source: str, destination: str, timeout: float = 2.0) -> None:
    """Wait until JACK lists ``source`` connected to ``destination``; fail naming what it is connected to."""
    deadline = time.monotonic() + timeout
    while destination not in (connected := connections(source) or set()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{source!r} not connected to {destination!r} within {timeout} s; "
                                 f"it is connected to {sorted(connected)}")
        time.sleep(0.02)


class Collector:
    """A foreign JACK client with one MIDI input that stamps and keeps every message it receives.

    It reads rtmidi's queue from a thread of its own (livegen's ``Listener``): a Python callback
    would hold up JACK's process thread while the test's own thread has the GIL, and JACK would
    drop the periods it missed.
    """

    def __init__(self, client_name: str | None = None):
        self.client_name = client_name or f"probe-{os.getpid()}-{next(_probe_numbers)}"
        self.received: list[tuple[float, mido.Message]] = []
        self._port = ports.open_input("in", virtual=True, client_name=self.client_name)
        self._listener = Listener(self._port, lambda at, message: self.received.append((at, message)))
        self._listener.start()
        self.address = f"{self.client_name}:in"
        wait_for_port(self.address)
        OPEN.append(self)

    def connect_from(self, output_port_name: str) -> None:
        """Route a JACK MIDI output into this probe."""
        subprocess.run(["jack_connect", output_port_name, self.address], check=True, timeout=5)
        wait_for_connection(output_port_name, self.address)

    def wait_for_senders(self, timeout: float = 2.0) -> set[str]:
        """The ports connected into this probe, waiting until there is at least one."""
        deadline = time.monotonic() + timeout
        while not (senders := connections(self.address)):
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing connected to {self.address!r} within {timeout} s")
            time.sleep(0.02)
        return senders

    def messages(self) -> list[mido.Message]:
        """The messages received so far, in arrival order."""
        return [message for _, message in self.received]

    def wait_for(self, count: int, timeout: float = 2.0) -> list[mido.Message]:
        """The first ``count`` messages, waiting for them to arrive; fail showing what did arrive."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"probe got {len(self.received)} of {count} messages in {timeout} s: "
                                     f"{self.messages()}")
            time.sleep(0.005)
        return self.messages()[:count]

    def caught_up(self, since: float) -> bool:
        """Whether the probe has read every message that reached it before ``since``: its listener
        found the port's queue empty after that."""
        return (self._listener.stamps.earliest or float("-inf")) > since

    def close(self) -> None:
        """Leave JACK."""
        if self in OPEN:
            OPEN.remove(self)
        self._listener.stop()
        self._port.close()


def catch_up(timeout: float = 2.0) -> None:
    """Wait until every open probe has read what reached it by now (a sender that just closed, say)."""
    now = time.perf_counter()
    for probe in list(OPEN):
        wait_until(lambda: probe.caught_up(now), f"{probe.address} read its queue", timeout)


KEYBOARD_SCRIPT = """
import sys
import mido
port = mido.open_output("keys", client_name=sys.argv[1], virtual=True)
print("ready", flush=True)
for line in sys.stdin:
    port.send(mido.Message.from_bytes([int(byte) for byte in line.split()]))
"""


class Keyboard:
    """A foreign JACK client with one MIDI output, in a process of its own that a test can kill."""

    def __init__(self, client_name: str):
        self.address = f"{client_name}:keys"
        self.process = subprocess.Popen([sys.executable, "-c", KEYBOARD_SCRIPT, client_name],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        STARTED.append(self.process)
        if self.process.stdout.readline().strip() != "ready":
            raise AssertionError(f"the keyboard process did not start (exit code {self.process.wait(timeout=5)})")
        wait_for_port(self.address)

    def send(self, message: mido.Message) -> None:
        self.process.stdin.write(" ".join(map(str, message.bytes())) + "\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        """Kill the process (SIGKILL: no goodbye to JACK) and wait until JACK has dropped its port."""
        self.process.kill()
        self.process.wait(timeout=10)
        wait_until_gone(self.address)
