"""Link's cost on the live path, beside the MIDI clock's in the same run: the engine reading the beat,
and the watcher thread's refresh of the session state; and what importing Link adds to a start.

A Link peer multicasts on every interface, so this row runs in a network namespace of its own
(``livegen.live.netns``): ``python -m livegen.bench.link N`` is the part inside, printing JSON.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time

import mido

from livegen.bench.measure import percentiles_ms
from livegen.live import netns
from livegen.live.clock import ExternalClock


def bench_link(quick: bool) -> dict:
    """The Link rows, measured inside a namespace; a reason when they cannot be."""
    if importlib.util.find_spec("link") is None:
        return {"skipped": "the link extra is not installed (pip install 'livegen[link]')"}
    count = 2000 if quick else 20000
    try:
        result = subprocess.run(netns.command(sys.executable, "-m", "livegen.bench.link", str(count)),
                                capture_output=True, text=True, timeout=300)
    except OSError as error:
        return {"skipped": f"no network namespace for a Link peer: {error}"}
    if result.returncode != 0:
        return {"skipped": f"no network namespace for a Link peer: {result.stderr.strip()[-300:]}"}
    return json.loads(result.stdout)


def timed(call, count: int) -> dict:
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return percentiles_ms(durations)


def main(count: int) -> None:
    netns.enter()
    started = time.perf_counter()
    from livegen.live.link import REFRESH_S, LinkWatcher, load_binding

    binding = load_binding()
    imported = time.perf_counter() - started
    watcher = LinkWatcher(binding, 4, 120.0, propose_tempo=False, start_stop=False, post=lambda item: None)
    link_clock = watcher.clock
    midi_clock = ExternalClock(120.0)
    midi_clock.hear(mido.Message("start"), 0.0)
    for pulse in range(48):
        midi_clock.hear(mido.Message("clock"), pulse * 0.5 / 24)
    now = time.perf_counter()
    refresh = timed(watcher.refresh, count)
    results = {
        "import_link_s": round(imported, 4),
        "beats_at_link": timed(lambda: link_clock.beats_at(now), count),
        "beats_at_midi_clock": timed(lambda: midi_clock.beats_at(now), count),
        "refresh": refresh,
        "refresh_every_ms": 1000 * REFRESH_S,
        "refresh_core_share": round(refresh["median_ms"] / (1000 * REFRESH_S), 4),
    }
    watcher.link.enabled = False
    print(json.dumps(results))


if __name__ == "__main__":
    main(int(sys.argv[1]))
