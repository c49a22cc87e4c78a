"""``livegen bench``: the live path's speed, measured side by side with the ways it replaces.

The runtime rows need only numpy; the comparison rows (Keras, music21, training) need the
``[train]`` extra and say so when it is missing. Every ratio is taken within one run. This module
runs every row and reports them; the rows live in the modules beside it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np

from livegen.bench.learning import bench_adaptation
from livegen.bench.answer import bench_answer_on_jack
from livegen.bench.compare import comparison_rows
from livegen.bench.engine import bench_accompany, bench_readiness, bench_reprime
from livegen.bench.link import bench_link
from livegen.bench.measure import DEFAULT_DIMS
from livegen.bench.model import bench_sampling, bench_step
from livegen.bench.scheduler import bench_jack, bench_scheduler
from livegen.bench.startup import bench_startup
from livegen.live import jackd, jackprobe
from livegen.model.untrained import random_weights


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "system": f"{platform.system()} {platform.release()}", "date": time.strftime("%Y-%m-%d")}


def run(quick: bool = False, compare: bool = True, log=print) -> dict:
    """Every row, as one JSON-able dict."""
    weights = random_weights(DEFAULT_DIMS)
    results = {"machine": machine(), "quick": quick, "model": DEFAULT_DIMS}
    log("model step ...")
    results["step"] = bench_step(weights, 2000 if quick else 20000)
    # The old way in the same run: the same model deaf to voices (presets before format 2).
    tokens_only = {name: value for name, value in DEFAULT_DIMS.items() if name != "voices"}
    results["step_without_voices"] = bench_step(random_weights(tokens_only), 2000 if quick else 20000)
    log("sampling ...")
    results["sampling"] = bench_sampling(weights, 2000 if quick else 20000)
    log("model step + learning the player ...")
    results["adaptation"] = bench_adaptation(weights, 2000 if quick else 20000)
    log("answer readiness ...")
    results["readiness"] = bench_readiness(weights, repeats=2 if quick else 10)
    log("re-priming after a key change ...")
    results["reprime"] = bench_reprime(weights, 5 if quick else 50)
    log("accompany: re-planning on each player note ...")
    results["accompany"] = bench_accompany(weights, 4 if quick else 32)
    log("scheduler ...")
    results["scheduler"] = bench_scheduler(2.0 if quick else 60.0)
    log("Link (in a network namespace of its own) ...")
    results["link"] = bench_link(quick)
    results.update(jack_rows(weights, quick, log))
    log("start-up and memory ...")
    results["startup"] = bench_startup()
    if compare:
        log("comparisons (Keras, music21, training) ...")
        results["comparisons"] = comparison_rows(quick)
    return results


def jack_rows(weights: dict, quick: bool, log) -> dict:
    """The rows over real JACK ports, with the server's settings and the xruns it reported meanwhile."""
    if shutil.which(jackd.COMMAND[0]) is None and not jackd.server_running():
        skipped = {"skipped": "no JACK (Debian: jackd2)"}
        return {"jack_server": skipped, "jack": skipped, "answer_on_jack": skipped}
    with jackd.serving(jackd.PRECISION_COMMAND, log) as started_here:
        settings = jackprobe.settings()
        watch = jackprobe.XrunReader()
        try:
            log("JACK timing (jack_midi_dump) ...")
            rows = {"jack": bench_jack(3.0 if quick else 60.0)}
            log("answers on JACK ...")
            rows["answer_on_jack"] = bench_answer_on_jack(weights, 2 if quick else 10)
        finally:
            watch.close()
    rows["jack_server"] = {"period_frames": settings.period_frames, "rate": settings.rate,
                           "realtime": settings.realtime, "started_here": started_here, "xruns": watch.count}
    return rows


def link_row(link: dict) -> tuple[str, str, str]:
    what = "Link: the engine reading the beat, the watcher's refresh"
    if "skipped" in link:
        return what, link["skipped"], ""
    return (what, f"beat read median {1000 * link['beats_at_link']['median_ms']:.2f} us; refresh median "
                  f"{link['refresh']['median_ms']} ms, p99 {link['refresh']['p99_ms']} ms every "
                  f"{link['refresh_every_ms']:g} ms ({100 * link['refresh_core_share']:.1f}% of a core)",
            f"MIDI clock's beat read: median {1000 * link['beats_at_midi_clock']['median_ms']:.2f} us; "
            f"import link (only with --link): {link['import_link_s']} s")


def table(results: dict) -> str:
    """The results as a Markdown table: what, measured, anchor."""
    step, sampling, sched, start = results["step"], results["sampling"], results["scheduler"], results["startup"]
    rows = [
        ("model step (numpy, 256x2, hearing 8 voices)",
         f"median {step['median_ms']} ms, p99 {step['p99_ms']} ms, max {step['max_ms']} ms",
         f"deaf to voices: median {results['step_without_voices']['median_ms']} ms, "
         f"p99 {results['step_without_voices']['p99_ms']} ms"),
        ("sampling per token", f"median {1000 * sampling['median_ms']:.1f} us, p99 {1000 * sampling['p99_ms']:.1f} us", ""),
    ]
    adaptation = results["adaptation"]
    rows.append((f"step + sampling + session model (adapt {adaptation['adapt']:g}, {adaptation['contexts']} contexts: "
                 f"look-up, mix, learn), per token",
                 f"median {adaptation['median_ms']} ms, p99 {adaptation['p99_ms']} ms, max {adaptation['max_ms']} ms "
                 f"({100 * adaptation['mixed_share']:.0f}% of tokens mixed)",
                 f"step + sampling alone: median {adaptation['without']['median_ms']} ms, "
                 f"p99 {adaptation['without']['p99_ms']} ms"))
    for name, row in results["readiness"].items():
        rows.append((f"readiness, {name.replace('_', ' ')} call ({row['call_tokens']} tokens)",
                     f"median {row['streaming']['median_ms']} ms",
                     f"re-prime whole call: {row['reprime_whole_call']['median_ms']} ms"))
    reprime = results["reprime"]
    rows.append((f"re-prime from the seed buffer ({reprime['seed_bars']} bars, {reprime['notes']} notes, "
                 f"{reprime['tokens']} tokens; reads the last {reprime['tokens_read']})",
                 f"median {reprime['median_ms']} ms, max {reprime['max_ms']} ms",
                 f"feeding all {reprime['tokens']} tokens: median {reprime['whole_buffer']['median_ms']} ms"))
    accompany = results["accompany"]
    rows.append((f"accompany: player's note -> unsent beat sampled again ({accompany['player_notes']} notes)",
                 f"median {accompany['median_ms']} ms, p99 {accompany['p99_ms']} ms, max {accompany['max_ms']} ms",
                 ""))
    rows.append(("scheduler lateness", f"median {sched['median_ms']} ms, p99 {sched['p99_ms']} ms, "
                 f"max {sched['max_ms']} ms over {sched['seconds']} s; drift {sched['drift_ms']} ms", "ideal grid"))
    rows.append(link_row(results["link"]))
    server = results["jack_server"]
    if "skipped" not in server:
        rows.append(("JACK server for the rows below",
                     f"{server['period_frames']} frames / {server['rate']} Hz, "
                     f"{'realtime' if server['realtime'] else 'not realtime'}; **{server['xruns']} xruns** during them",
                     "started by the bench" if server["started_here"] else "the one already running"))
    jack = results["jack"]
    if "skipped" in jack:
        rows.append(("timing seen by jack_midi_dump", jack["skipped"], ""))
    else:
        rows.append(("timing seen by jack_midi_dump", f"median {jack['median_ms']} ms, p99 {jack['p99_ms']} ms, "
                     f"max {jack['max_ms']} ms over {jack['notes']} notes (JACK's frame clock runs "
                     f"{jack['clock_rate_ppm']} ppm off the system clock; fitted out)",
                     f"one JACK period: {jack['period_ms']} ms"))
    heard = results["answer_on_jack"]
    if "skipped" in heard:
        rows.append(("first answer note vs its beat (JACK)", heard["skipped"], ""))
    else:
        rows.append(("first answer note vs its beat (JACK)",
                     f"median {heard['deviation_from_beat']['median_ms']} ms, max "
                     f"{heard['deviation_from_beat']['max_ms']} ms over {heard['phrases']} phrases",
                     f"phrase end to first note: median {heard['phrase_end_to_first_note']['median_ms']} ms "
                     "(the wait for the next beat)"))
    tf_anchor = (f"import tensorflow: {start['tensorflow_import_s']} s, {start['tensorflow_peak_rss_mb']} MB"
                 if "tensorflow_import_s" in start else start.get("tensorflow_import", ""))
    rows.append(("live start-up to ready / peak RSS", f"{start['live_ready_s']} s / {start['live_peak_rss_mb']} MB",
                 tf_anchor))
    comparisons = results.get("comparisons", {})
    if "keras_step" in comparisons:
        keras = comparisons["keras_step"]
        predict = keras["keras_predict_40_window"]["median_ms"]
        rows.append(("Keras predict, 40-token window (notebook)", f"median {predict} ms",
                     f"numpy step is {predict / step['median_ms']:.0f}x faster"))
        rows.append(("Keras tf.function step", f"median {keras['keras_tf_function_step']['median_ms']} ms", ""))
    if "ingest" in comparisons:
        ingest = comparisons["ingest"]
        rows.append((f"MIDI ingest ({ingest['files']} files in {ingest['folder']})",
                     f"{ingest['mido_files_per_s']:.0f} files/s",
                     f"music21 {ingest['music21_files_per_s']:.1f} files/s ({ingest['speedup']:.0f}x)"))
    if "training" in comparisons:
        training = comparisons["training"]
        rows.append(("training targets/s", f"{training['long_sequences']['targets_per_second']:.0f}",
                     f"notebook windows {training['notebook_windows']['targets_per_second']:.0f} "
                     f"({training['speedup']}x)"))
    if "skipped" in comparisons:
        rows.append(("comparisons", comparisons["skipped"], ""))
    lines = ["| what | measured | anchor (same run) |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def write_json(results: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

