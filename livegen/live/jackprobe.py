"""Probes of a running JACK server: its settings, the xruns it reports, and how long MIDI takes through it.

JACK-Client (a cffi binding of libjack, MIT) reads what rtmidi cannot: the period, the rate,
whether the server runs in realtime mode, and the xrun notifications. ``livegen doctor``, the
bench and the tests load it; a live session never does (it starts ``XrunReader``'s watcher, a
process of its own, and reads its lines).
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import threading
import time
from dataclasses import dataclass

from livegen.errors import LivegenError

LOG = logging.getLogger(__name__)


class JackProbeError(LivegenError, OSError):
    """The JACK library or server cannot be reached; the message says which and what to do."""


@dataclass(frozen=True)
class JackSettings:
    """What a running JACK server was started with."""

    period_frames: int
    rate: int
    realtime: bool

    @property
    def period_seconds(self) -> float:
        return self.period_frames / self.rate


def _jack():
    """The JACK-Client module, or JackProbeError naming what is missing. libjack's own messages (its
    complaints when no server runs, among them) go to livegen's log, shown with ``--debug``."""
    try:
        import jack
    except OSError as error:  # JACK-Client loads libjack at import
        raise JackProbeError(f"the JACK library is not installed ({error}); Debian: apt-get install jackd2") from error
    jack.set_error_function(LOG.debug)
    jack.set_info_function(LOG.debug)
    return jack


def open_client(name: str):
    """A JACK client on the running server (never starting one), or JackProbeError."""
    jack = _jack()
    try:
        return jack.Client(f"{name}-{os.getpid()}", no_start_server=True)
    except jack.JackOpenError as error:
        raise JackProbeError("no JACK server is running") from error


def settings() -> JackSettings:
    """The running server's period, rate and realtime mode."""
    client = open_client("livegen-probe")
    try:
        return JackSettings(client.blocksize, client.samplerate, bool(client.realtime))
    finally:
        client.close()


class XrunWatch:
    """Counts the xruns the server reports while it is open (JACK calls back from its own thread)."""

    def __init__(self, name: str = "livegen-xruns") -> None:
        self.count = 0
        self._client = open_client(name)
        self._client.set_xrun_callback(self._xrun)
        self._client.activate()

    def _xrun(self, _delayed_usecs: float) -> None:
        self.count += 1

    def close(self) -> None:
        self._client.deactivate()
        self._client.close()

    def __enter__(self) -> XrunWatch:
        return self

    def __exit__(self, *_) -> None:
        self.close()


def transport_delays(count: int = 200, gap_seconds: float = 0.01, seed: int = 0) -> list[float]:
    """Seconds from rtmidi's send on one JACK port to the stamp rtmidi gives it on another.

    Two ports of this process, the way livegen's output reaches a synth; each message leaves at a
    random phase of the period, so the delays spread over every phase the transport can add.
    """
    from livegen.live import ports
    from livegen.live.listener import Listener

    ports.select_backend("jack")
    import mido

    client = f"livegen-transport-{os.getpid()}"
    output = ports.open_output("out", virtual=True, client_name=client)
    received: list[float] = []
    arrived = threading.Event()

    def heard(at, _message):
        received.append(at)
        arrived.set()

    source = ports.open_input("in", virtual=True, client_name=client + "-in")
    listener = Listener(source, heard)
    listener.start()
    sent: list[float] = []
    try:
        subprocess.run(["jack_connect", f"{client}:out", f"{client}-in:in"], check=True, capture_output=True,
                       timeout=5)
        wait_for_delivery(output, received, arrived)
        received.clear()
        jitter = random.Random(seed)
        for index in range(count):
            time.sleep(gap_seconds * (0.5 + jitter.random()))
            sent.append(time.perf_counter())
            output.send(mido.Message("note_on", note=index % 128, velocity=1))
        deadline = time.monotonic() + 1.0
        while len(received) < count and time.monotonic() < deadline:
            arrived.wait(0.05)
            arrived.clear()
    finally:
        listener.stop()
        source.close()
        output.close()
    return [at - left for left, at in zip(sent, received)]


def wait_for_delivery(output, received: list, arrived: threading.Event, timeout: float = 2.0) -> None:
    """Send a silent note until one arrives: the connection is made end to end."""
    import mido

    deadline = time.monotonic() + timeout
    while not received:
        if time.monotonic() > deadline:
            raise JackProbeError(f"nothing sent on {output.name!r} arrived within {timeout:g} s")
        output.send(mido.Message("note_off", note=0, velocity=0))
        arrived.wait(0.05)


WATCH_LINE = "xrun"


def watch_and_report(out=None) -> None:
    """Print a line for each xrun the running server reports, until stdin closes (``python -m``
    this module: the live session reads them from a process of their own, see ``XrunReader``)."""
    import sys

    out = out or sys.stdout
    lock = threading.Lock()

    def report(_delayed_usecs: float) -> None:
        with lock:
            out.write(WATCH_LINE + "\n")
            out.flush()

    client = open_client("livegen-xruns")
    client.set_xrun_callback(report)
    client.activate()
    out.write("ready\n")
    out.flush()
    try:
        sys.stdin.read()  # the session closes our stdin, or ends, when it stops
    finally:
        client.deactivate()
        client.close()


class XrunReader:
    """The xruns JACK reports during a live session, counted by a watcher in a process of its own.

    A JACK client of this process that heard them would take the GIL in JACK's notification
    thread; while livegen's threads hold it, the server waits and runs late (in a test: 3 xruns
    without such a client, 71 with one). A process that does nothing else answers at once.
    """

    def __init__(self) -> None:
        import sys

        self.count = 0
        self._process = subprocess.Popen([sys.executable, "-m", "livegen.live.jackprobe"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._thread = threading.Thread(target=self._read, name="livegen-xruns", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._process.stdout:
            if line.strip() == WATCH_LINE:
                self.count += 1

    def close(self) -> None:
        """End the watcher (our own child, by its handle) and reap it."""
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=2)
        self._thread.join(timeout=2)


if __name__ == "__main__":
    try:
        watch_and_report()
    except JackProbeError:
        pass  # no server: nothing to watch, and the session says so itself
