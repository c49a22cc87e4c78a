"""The session's supervision loop: a stop signal ends it at once, and the handlers are put back."""

import os
import signal
import threading
import time

import pytest

from livegen.model import preset
from livegen.live.engine import CompanionConfig
from livegen.model.sampling import SamplingConfig
from livegen.live.session import PortsConfig, Session


def signal_soon(signum, after=0.3):
    threading.Timer(after, os.kill, (os.getpid(), signum)).start()


@pytest.mark.parametrize("signum, reason", [(signal.SIGINT, "stopped by Ctrl-C"),
                                            (signal.SIGTERM, "stopped by SIGTERM")])
def test_a_stop_signal_ends_the_supervision_loop_and_the_handlers_come_back(tiny_preset, signum, reason):
    session = Session((preset.load(str(tiny_preset)),), CompanionConfig(), SamplingConfig(), PortsConfig())
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    signal_soon(signum)
    started = time.monotonic()
    session.run(duration=5.0)
    assert session.reason == reason and not session.failed
    assert time.monotonic() - started < 1.0
    assert {number: signal.getsignal(number) for number in before} == before

