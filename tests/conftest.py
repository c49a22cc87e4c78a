"""Fixtures shared by all tests: a JACK server for tests that use real MIDI ports."""

import os
import shutil

import mido
import pytest

from livegen.music import codec, voices

from livegen.live import jackd
from livegen.model import preset
from tests import jackutil
from tests.helpers import random_weights

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"


@pytest.fixture(scope="session")
def tiny_preset(tmp_path_factory):
    """A small random-weight preset: timing and release guarantees do not depend on training."""
    dims = {"embedding": 8, "hidden": 32, "layers": 2, "voices": voices.SCHEME}  # it hears voices, as trained presets do
    config = {"name": "tiny", "description": "random weights for tests", "vocabulary": codec.vocabulary_spec(),
              "ticks_per_beat": codec.TICKS_PER_BEAT, "model": dims, "key_mode": "canonical"}
    return preset.write(tmp_path_factory.mktemp("presets") / "tiny", config,
                        random_weights(embedding=8, hidden=32, layers=2, seed=3, voices=True), {})


@pytest.fixture(autouse=True)
def no_livegen_left_running():
    """A test that fails half-way must not leave its livegen holding JACK port names."""
    yield
    while jackutil.STARTED:
        process = jackutil.STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(autouse=True)
def own_config_home(tmp_path_factory, monkeypatch):
    """Every test (and every livegen it starts) sees an empty config folder, not the developer's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


JACKD_LOGS: list = []  # the log of the jackd this session started: JACK reports its xruns there
# (not a JACK-Client xrun callback: a Python client that must take the GIL to hear each notification
# made the server late itself, 3 -> 71 xruns in one test)


class JackXrunDuringTest(AssertionError):
    """A real-port test failed while JACK itself reported xruns; `make test` runs such a test up to twice more."""


def _xruns() -> int:
    """XRun reports in the log of the jackd we started (none known for a server already running)."""
    try:
        return sum(log.read_text(errors="replace").count("XRun") for log in JACKD_LOGS)
    except OSError:
        return 0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Name the JACK xruns a failed real-port test ran into, so that (and only that) is retried once.

    On two shared cores a virtual machine sometimes cannot run JACK's clients within a period;
    JACK then logs "client ... was not finished" and drops that period's MIDI, for every client.
    A failure without such a report, or a second failure, fails the run.
    """
    before = _xruns()
    outcome = yield
    error = outcome.exception
    if item.get_closest_marker("jack") is not None and isinstance(error, AssertionError):
        xruns = _xruns() - before
        if xruns:
            outcome.force_exception(JackXrunDuringTest(
                f"JACK reported {xruns} xrun(s) during this test; it failed with: {error}"))


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory):
    """A running JACK server (the one already up, else one started here) and mido set to use it."""
    log = tmp_path_factory.mktemp("jackd") / "jackd.log"
    started = None if jackd.server_running() else _start_jackd(log)
    if started is not None:
        JACKD_LOGS.append(log)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MIDO_BACKEND", JACK_BACKEND)
        previous_backend = mido.backend
        mido.set_backend(JACK_BACKEND, load=True)
        try:
            yield
        finally:
            mido.set_backend(previous_backend)
            if started is not None:
                jackd.stop(started)


def _start_jackd(log_path):
    """Start the dummy-driver jackd livegen starts (its settings and why: livegen/live/jackd.py) as our
    own process, and wait until clients can reach it."""
    if shutil.which("jackd") is None or shutil.which("jack_lsp") is None:
        _fail_without_jack("jackd or jack_lsp is not on PATH")
    try:
        return jackd.start(log_path)
    except jackd.JackdError as failure:
        _fail_without_jack(str(failure))


def _fail_without_jack(reason):
    """Fail the test: real-port tests need JACK, in CI and on a developer's machine alike."""
    where = "JACK is required in CI" if os.environ.get("CI") == "true" else "JACK is required for tests marked 'jack'"
    pytest.fail(f"{where}: {reason}. Install jackd2 (make test does, via scripts/system-deps.sh)", pytrace=False)


def pytest_terminal_summary(terminalreporter):
    """The xruns of the JACK server this run started, beside the result: a noisy host is seen, not hidden."""
    if JACKD_LOGS:
        terminalreporter.write_line(f"JACK xrun reports during this run: {_xruns()} (server log: {JACKD_LOGS[0]})")
    if jackutil.LSP_HANGS:
        terminalreporter.write_line(f"jack_lsp hung {len(jackutil.LSP_HANGS)} time(s) for {jackutil.LSP_TIMEOUT_S:g} s "
                                    "and was asked again")
