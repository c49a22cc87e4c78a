"""``livegen doctor``'s checks: why a session stutters, each finding with the one thing to change.

Each check returns a ``Finding``; none raises for a problem of the machine (that is what it
reports). The thresholds are the live path's own: a period the tests found free of xruns on two
shared cores (``jackd.PERIOD_FRAMES``), the scheduler's 1.5 ms budget from deadline to send.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import mido

from livegen.live import jackd, jackprobe
from livegen.live.ports.backend import ALSA_SEQUENCER
from livegen.live.scheduler import REALTIME_PRIORITY, Scheduler

PROBE_GAP_S = 0.004  # the scheduler's probe: a message due this often (as an answer's notes can be)
SEND_BUDGET_MS = 1.5  # the scheduler's own: wake 1 ms early and spin, then at most a GIL switch (0.5 ms)
LONGEST_USEFUL_PERIOD = 2048  # frames: beyond this JACK alone adds over 40 ms, which a player hears
GOVERNORS = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, what was found, and the fix when something is wrong."""

    topic: str
    ok: bool
    found: str
    fix: str | None = None


def midi_system() -> tuple[Finding, jackprobe.JackSettings | None]:
    """Is there a MIDI system: ALSA's sequencer, a JACK server (and how it runs)."""
    alsa = os.path.exists(ALSA_SEQUENCER)
    try:
        settings = jackprobe.settings()
    except jackprobe.JackProbeError as error:
        if alsa:
            return Finding("MIDI system", True, f"ALSA sequencer ({ALSA_SEQUENCER}); JACK: {error}"), None
        return Finding("MIDI system", False, f"no ALSA sequencer ({ALSA_SEQUENCER}) and {error}",
                       f"start JACK: '{' '.join(jackd.COMMAND)}' without a sound card, or "
                       f"'jackd -d alsa -p 256' with one"), None
    mode = "realtime" if settings.realtime else "not realtime"
    found = (f"JACK at {settings.period_frames} frames / {settings.rate} Hz "
             f"({1000 * settings.period_seconds:.1f} ms a period), {mode}"
             + (f"; ALSA sequencer too" if alsa else ""))
    if settings.period_frames > LONGEST_USEFUL_PERIOD:
        return Finding("MIDI system", False, found,
                       f"each period delays MIDI by up to {1000 * settings.period_seconds:.0f} ms: restart JACK "
                       f"with -p {LONGEST_USEFUL_PERIOD} or less"), settings
    return Finding("MIDI system", True, found), settings


def larger_period(frames: int) -> int:
    """The next period to try after xruns at ``frames``: double it."""
    return frames * 2


def xruns_and_trip(settings: jackprobe.JackSettings, seconds: float = 5.0) -> list[Finding]:
    """Xruns over ``seconds`` while a probe sends MIDI from one client to another, and that trip's time."""
    count = max(10, int(seconds / 0.01))
    try:
        with jackprobe.XrunWatch() as watch:
            started = time.perf_counter()
            trips = jackprobe.transport_delays(count=count, gap_seconds=0.01)
            measured = time.perf_counter() - started
            xruns = watch.count
    except (jackprobe.JackProbeError, OSError) as error:
        return [Finding("xruns", False, f"could not probe JACK: {error}", "check that the JACK server still runs")]
    frames = settings.period_frames
    if xruns:
        xrun = Finding("xruns", False, f"JACK at {frames} frames had {xruns} xruns in {measured:.0f} s",
                       f"restart it with -p {larger_period(frames)}")
    else:
        xrun = Finding("xruns", True, f"none in {measured:.0f} s at {frames} frames")
    if not trips:
        return [xrun, Finding("round trip", False, "no probe message came back", "check that the JACK server runs")]
    trips_ms = sorted(1000 * trip for trip in trips)
    median, worst = trips_ms[len(trips_ms) // 2], trips_ms[-1]
    periods = worst / (1000 * settings.period_seconds)
    found = (f"client to client: median {median:.2f} ms, at most {worst:.2f} ms ({periods:.1f} periods) "
             f"over {len(trips)} messages")
    lost = count - len(trips)
    if lost:
        return [xrun, Finding("round trip", False, f"{found}; {lost} lost",
                              f"restart JACK with -p {larger_period(frames)}")]
    trip = Finding("round trip", periods <= 2.1, found,
                   None if periods <= 2.1 else "something delays JACK's clients past their period: see the lines above")
    return [xrun, trip]


def realtime_priority(seconds: float = 2.0) -> Finding:
    """Can the scheduler's thread run at realtime priority, and how late does the OS wake it."""
    result: dict = {}

    def probe() -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
            result["realtime"] = True
        except (AttributeError, OSError) as error:
            result["realtime"] = False
            result["why"] = str(error)

    thread = threading.Thread(target=probe, name="livegen-doctor-realtime")
    thread.start()
    thread.join()
    late = wake_up_lateness_ms(seconds)
    woke = f"its loop woke up to {late:.2f} ms late in {seconds:g} s"
    if not result["realtime"]:
        return Finding("realtime", False, f"no realtime priority for livegen's scheduler ({result['why']}); {woke}",
                       "let your user have realtime priority: add it to the 'audio' group (Debian's jackd2 package "
                       "offers to set '@audio - rtprio 95' in /etc/security/limits.d/audio.conf) and log in again")
    if late > SEND_BUDGET_MS:
        return Finding("realtime", False, f"SCHED_FIFO granted, but {woke}",
                       "something takes the CPU away from realtime threads (a virtual machine's host, a busy "
                       "system, power saving): close other programs, or play on a machine of your own")
    return Finding("realtime", True, f"SCHED_FIFO granted; {woke}")


class _Nowhere:
    """A port that drops what it is sent and says when the last expected message came."""

    name = "nowhere"

    def __init__(self, expected: int) -> None:
        self.left = expected
        self.all_sent = threading.Event()

    def send(self, message) -> None:
        self.left -= 1
        if self.left <= 0:
            self.all_sent.set()


def wake_up_lateness_ms(seconds: float) -> float:
    """livegen's scheduler itself (its thread asks for realtime priority as in a session), sending a
    message due every ``PROBE_GAP_S`` to a port that drops them; its worst lateness in milliseconds."""
    count = max(1, round(seconds / PROBE_GAP_S))
    port = _Nowhere(count)
    scheduler = Scheduler(port)
    first = time.perf_counter() + PROBE_GAP_S
    scheduler.send_at([(first + index * PROBE_GAP_S, mido.Message("clock")) for index in range(count)])
    scheduler.start()
    try:
        port.all_sent.wait(seconds + 1.0)
    finally:
        scheduler.stop(panic=False)
    return 1000 * max(scheduler.lateness, default=0.0)


def cpu_governor(root: Path = GOVERNORS) -> Finding:
    """The CPU frequency governor: power saving lets the clock sag between notes."""
    governors = sorted({path.read_text().strip() for path in root.glob("cpu[0-9]*/cpufreq/scaling_governor")})
    if not governors:
        return Finding("CPU governor", True, "not exposed here (a virtual machine, or a fixed clock): nothing to set")
    if governors == ["performance"]:
        return Finding("CPU governor", True, "performance")
    return Finding("CPU governor", False, ", ".join(governors),
                   "set it to performance while you play: 'sudo cpupower frequency-set -g performance'")


def bundled_presets() -> Finding:
    """Every bundled preset loads and its model takes a step."""
    from livegen.model import preset as presets
    from livegen.model.runtime import StepModel

    loaded, broken = [], []
    for directory in presets.list_folder(presets.bundled_dir()):
        try:
            StepModel(presets.load(str(directory)).weights).warm_up()
            loaded.append(directory.name)
        except (presets.PresetError, OSError, ValueError) as error:
            broken.append(f"{directory.name} ({error})")
    if broken:
        return Finding("presets", False, f"cannot load {', '.join(broken)}",
                       "reinstall livegen: 'pip install --force-reinstall livegen'")
    if not loaded:
        return Finding("presets", False, f"no bundled presets in {presets.bundled_dir()}",
                       "reinstall livegen, or unset LIVEGEN_PRESETS")
    return Finding("presets", True, f"{len(loaded)} bundled presets load: {', '.join(loaded)}")


def examine(seconds: float = 5.0) -> list[Finding]:
    """Every check, in the order a player would fix them."""
    system, settings = midi_system()
    findings = [system]
    if settings is not None:
        findings += xruns_and_trip(settings, seconds)
    findings += [realtime_priority(min(seconds, 2.0)), cpu_governor(), bundled_presets()]
    return findings
