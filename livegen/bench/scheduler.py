"""The scheduler's timing: lateness against ideal deadlines, and what a foreign JACK client sees."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import numpy as np

from livegen.music import codec

from livegen.bench.measure import DEFAULT_DIMS, percentiles_ms
from livegen.live.scheduler import Scheduler, TimedNote
from livegen.model.runtime import StepModel
from livegen.model.untrained import random_weights


class _NullPort:
    name = "null"

    def send(self, message):
        pass


def bench_scheduler(seconds: float, notes_per_second: float = 16.0) -> dict:
    """Send lateness against ideal absolute deadlines, with a step-model engine busy alongside."""
    scheduler = Scheduler(_NullPort())
    start = time.perf_counter() + 0.2
    count = int(seconds * notes_per_second)
    gap = 1.0 / notes_per_second
    scheduler.play([TimedNote(start + i * gap, start + i * gap + gap / 2, 60 + i % 12, 80) for i in range(count)])
    scheduler.start()
    busy = StepModel(random_weights(DEFAULT_DIMS))
    state = busy.initial_state()
    end = start + count * gap + 0.1
    steps = 0
    while time.perf_counter() < end:  # the engine's work competes for the GIL
        busy.step(steps % codec.VOCAB_SIZE, state)
        steps += 1
        if steps % 50 == 0:
            time.sleep(0.001)
    scheduler.stop(panic=False)
    lateness = list(scheduler.lateness)
    first, last = scheduler.sent[0][0], scheduler.sent[-1][0]
    return {**percentiles_ms(lateness), "seconds": seconds, "messages": len(lateness),
            "drift_ms": round((last - first - (count - 0.5) * gap) * 1000, 4)}


def bench_jack(seconds: float, notes_per_second: float = 8.0) -> dict:
    """Deadlines vs the times a foreign JACK client (jack_midi_dump) stamps, on a running JACK server.

    jack_midi_dump stamps each event with JACK's frame time; rtmidi delivers at the start of the
    next period, so one period (2.67 ms at the bench's 128 frames / 48 kHz) is the floor of what it can see.
    """
    from livegen.live import jackprobe, ports

    if shutil.which("jack_midi_dump") is None:
        return {"skipped": "jack_midi_dump is not installed (Debian: jackd2)"}
    try:
        ports.select_backend("jack")
    except ports.PortError as error:
        return {"skipped": f"no JACK server: {error}"}
    monitor = f"livegen-bench-dump-{os.getpid()}"
    dump = subprocess.Popen(["stdbuf", "-oL", "jack_midi_dump", "-a", monitor], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    port = ports.open_output(f"bench-{os.getpid()}", virtual=True)
    try:
        time.sleep(0.5)
        subprocess.run(["jack_connect", port.name, f"{monitor}:input"], check=True, capture_output=True)
        time.sleep(0.3)
        scheduler = Scheduler(port)
        start = time.perf_counter() + 0.3
        count = int(seconds * notes_per_second)
        gap = 1.0 / notes_per_second
        scheduler.play([TimedNote(start + i * gap, start + i * gap + gap / 2, 60 + i % 12, 80) for i in range(count)])
        scheduler.start()
        time.sleep(0.3 + count * gap + 0.5)
        scheduler.stop(panic=False)
    finally:
        port.close()
        dump.terminate()
        output, _ = dump.communicate(timeout=5)
    frames = [int(line.split(":")[0]) for line in output.splitlines() if "note on" in line]
    if len(frames) < 2:
        return {"skipped": f"jack_midi_dump saw {len(frames)} notes"}
    settings = jackprobe.settings()
    rate, period = float(settings.rate), settings.period_frames
    seen = np.array(frames[:count], dtype=np.float64) / rate
    ideal = np.arange(len(seen)) * gap
    # JACK's dummy driver keeps its own frame clock, which runs at a slightly different rate from
    # the system clock the deadlines use: fit that rate out, report it, and measure what is left.
    slope, intercept = np.polyfit(ideal, seen, 1)
    residual = seen - (slope * ideal + intercept)
    return {**percentiles_ms(np.abs(residual)), "notes": len(seen), "period_ms": round(1000 * period / rate, 3),
            "clock_rate_ppm": round(float(slope - 1) * 1e6, 1)}
