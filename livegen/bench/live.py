"""``livegen bench``: the live path's speed, measured side by side with the ways it replaces.

The runtime rows need only numpy; the comparison rows (Keras, music21, training) need the
``[train]`` extra and say so when it is missing. Every ratio is taken within one run.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import mido
import numpy as np

from livegen.music import codec
from livegen.live.engine import REPRIME_TOKENS, Companion, CompanionConfig
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.live.scheduler import Scheduler, TimedNote

PLAYER_CHANNEL = 15
DEFAULT_DIMS = {"embedding": 64, "hidden": 256, "layers": 2}
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "chorales"


def random_weights(dims: dict, seed: int = 0) -> dict:
    """Weights of the preset layout with random values: timing does not depend on training."""
    from livegen.model.preset import expected_arrays

    rng = np.random.default_rng(seed)
    return {name: (rng.standard_normal(shape) * 0.1).astype(np.float32)
            for name, shape in expected_arrays(dims).items()}


def percentiles_ms(seconds) -> dict:
    """Median, p99 and max of durations given in seconds, in milliseconds."""
    values = np.asarray(list(seconds), dtype=np.float64) * 1000
    return {"median_ms": round(float(np.median(values)), 4), "p99_ms": round(float(np.percentile(values, 99)), 4),
            "max_ms": round(float(values.max()), 4), "count": int(values.size)}


def bench_step(weights: dict, steps: int) -> dict:
    """Latency of one numpy model step."""
    model = StepModel(weights)
    model.warm_up()
    state = model.initial_state()
    tokens = np.random.default_rng(1).integers(1, model.vocab_size, size=steps)
    times = []
    clock = time.perf_counter
    for token in tokens:
        started = clock()
        model.step(int(token), state)
        times.append(clock() - started)
    return percentiles_ms(times)


def bench_sampling(weights: dict, tokens: int) -> dict:
    """Cost of choosing a token: grammar mask + softmax + top-p + draw (the model step excluded)."""
    model = StepModel(weights)
    sampler = Sampler(SamplingConfig(temperature=0.9, top_p=0.95), seed=0)
    cursor = codec.Cursor()
    state = model.initial_state()
    logits = model.step(codec.BAR, state).copy()
    cursor.advance(codec.BAR)
    times = []
    clock = time.perf_counter
    for _ in range(tokens):
        started = clock()
        token = sampler.choose(logits, cursor)
        times.append(clock() - started)
        cursor.advance(token)
        logits = model.step(token, state)
    return percentiles_ms(times)


class _NullSink:
    def play(self, notes, tag):
        pass

    def cancel(self, tag):
        pass

    def retract(self, tag, not_before):
        return set()


def _call_messages(bars: int, beat: float):
    """A call of ``bars`` bars of quarter notes with a held bass, as (time, message) pairs."""
    events = []
    for index in range(bars * 4):
        at = index * beat
        pitch = (60, 64, 67, 72, 71, 67, 65, 62)[index % 8]
        events.append((at, mido.Message("note_on", note=pitch, velocity=80)))
        events.append((at + 0.8 * beat, mido.Message("note_off", note=pitch)))
    return sorted(events, key=lambda e: e[0])


def bench_readiness(weights: dict, call_bars=(2, 8, 32), repeats: int = 5) -> dict:
    """Phrase end -> first answer note sampled, streaming priming vs re-priming the whole call."""
    model = StepModel(weights)
    model.warm_up()
    beat = 0.5
    rows = {}
    for bars in call_bars:
        streaming, whole = [], []
        for repeat in range(repeats):
            config = CompanionConfig(bpm=120, seed_bars=32, max_answer_bars=2)
            companion = Companion(model, Sampler(seed=repeat), _NullSink(), config)
            now = 0.0
            for at, message in _call_messages(bars, beat):
                while now + 0.01 < at:
                    now += 0.01
                    companion.tick(now)
                companion.hear(message, at)
                now = at
            while companion.answer is None:
                now += 0.01
                companion.tick(now)
            streaming.append(companion.readiness[-1])
            whole.append(_reprime_whole_call(model, companion, bars, repeat))
        rows[f"{bars}_bars"] = {"call_tokens": len(_call_tokens(bars)),
                                "streaming": percentiles_ms(streaming), "reprime_whole_call": percentiles_ms(whole)}
    return rows


def bench_reprime(weights: dict, repeats: int) -> dict:
    """A key change re-primes the state from the seed buffer (8 bars of four-note chords, the worst case)."""
    model = StepModel(weights)
    model.warm_up()
    companion = Companion(model, Sampler(seed=0), _NullSink(), CompanionConfig(bpm=120, seed_bars=8))
    now = 0.0
    for beat in range(8 * 4):
        for voice, pitch in enumerate((48, 55, 64, 72)):
            companion.hear(mido.Message("note_on", note=pitch + (beat % 3), velocity=80), beat * 0.5)
    for beat in range(8 * 4):
        for pitch in (48, 55, 64, 72):
            companion.hear(mido.Message("note_off", note=pitch + (beat % 3)), beat * 0.5 + 0.4)
        now = beat * 0.5 + 0.45
        companion.tick(now)
    tokens = codec.encode(codec.merge_unisons(
        codec.Note(round(n.start * 24), n.pitch, n.velocity, 10) for n in companion.history))
    times, whole = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        companion.reprime(now)
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.feed(tokens, model.initial_state())
        whole.append(time.perf_counter() - started)
    return {**percentiles_ms(times), "seed_bars": 8, "notes": len(companion.history), "tokens": len(tokens),
            "tokens_read": len(codec.tail(tokens, REPRIME_TOKENS)), "whole_buffer": percentiles_ms(whole)}


def bench_accompany(weights: dict, bars: int) -> dict:
    """Accompany mode: a player's note -> the accompaniment's unsent beat sampled again with it."""
    model = StepModel(weights)
    model.warm_up()
    companion = Companion(model, Sampler(seed=0), _NullSink(), CompanionConfig(bpm=120, mode="accompany"))
    now = 0.0
    for at, message in _call_messages(bars, 0.5):
        while now + 0.002 < at:
            now += 0.002
            companion.tick(now)
        companion.hear(message, at)
        now = at
        companion.tick(now)
    return {**percentiles_ms(companion.replans), "player_notes": bars * 4}


def _call_tokens(bars: int) -> list[int]:
    notes = [codec.Note(i * 12, (60, 64, 67, 72, 71, 67, 65, 62)[i % 8], 80, 10) for i in range(bars * 4)]
    return codec.encode(notes)


def _reprime_whole_call(model: StepModel, companion: Companion, bars: int, seed: int) -> float:
    """Magenta's way: at phrase end, run the whole call through a fresh state, then sample."""
    sampler = Sampler(seed=seed)
    started = time.perf_counter()
    state = model.initial_state()
    cursor = codec.Cursor()
    tokens = _call_tokens(bars) + [codec.BAR, codec.POSITION_BASE]
    for token in tokens:
        cursor.advance(token)
    sampler.choose(model.feed(tokens, state), cursor)
    return time.perf_counter() - started


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
    next period, so one period (128 frames at 48 kHz: 2.67 ms) is the floor of what it can see.
    """
    from livegen.live import ports

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
    rate, period = 48000.0, 128
    seen = np.array(frames[:count], dtype=np.float64) / rate
    ideal = np.arange(len(seen)) * gap
    # JACK's dummy driver keeps its own frame clock, which runs at a slightly different rate from
    # the system clock the deadlines use: fit that rate out, report it, and measure what is left.
    slope, intercept = np.polyfit(ideal, seen, 1)
    residual = seen - (slope * ideal + intercept)
    return {**percentiles_ms(np.abs(residual)), "notes": len(seen), "period_ms": round(1000 * period / rate, 3),
            "clock_rate_ppm": round(float(slope - 1) * 1e6, 1)}


def bench_answer_on_jack(weights: dict, phrases: int) -> dict:
    """Phrase end -> first answer note as a foreign JACK client hears it, against the beat it belongs on.

    A player port plays a two-bar call into ``livegen:in``; an ear port hears the player's notes
    (the downbeat, on the same path livegen hears them) and the answer.
    """
    from livegen.live import ports
    from livegen.demo.run import call_events, play_into
    from livegen.live.listener import Listener
    from livegen.music.midifile import Piece
    from livegen.model.preset import Preset
    from livegen.live.session import PortsConfig, Session

    try:
        ports.select_backend("jack")
    except ports.PortError as error:
        return {"skipped": f"no JACK server: {error}"}
    bpm, beat = 120.0, 0.5
    call = Piece(tuple(codec.Note(i * 12, (67, 71, 74, 71, 72, 69, 66, 67)[i], 90, 9) for i in range(8)),
                 codec.Meter(), bpm)
    config = {"name": "bench", "key_mode": "canonical"}
    deviations, waits = [], []
    for phrase in range(phrases):
        heard: list[tuple[float, mido.Message]] = []
        session = Session(Preset(Path("."), config, weights), CompanionConfig(bpm=bpm, answer_bars=1),
                          SamplingConfig(), PortsConfig(virtual=True), seed=phrase, log=lambda text: None)
        session.open()
        ear = ports.open_input(f"ear-{os.getpid()}", virtual=True, client_name=f"livegen-bench-ear-{os.getpid()}")
        ear_reader = Listener(ear, lambda at, message: heard.append((at, message)))  # polled: a callback can drop
        ear_reader.start()
        player = ports.open_output(f"player-{os.getpid()}", virtual=True)
        try:
            for source in (player.name, session.output_port.name):
                subprocess.run(["jack_connect", source, f"livegen-bench-ear-{os.getpid()}:ear-{os.getpid()}"],
                               check=True, capture_output=True)
            subprocess.run(["jack_connect", player.name, session.input_port.name], check=True, capture_output=True)
            time.sleep(0.3)
            events = [(at, message.copy(channel=PLAYER_CHANNEL))
                      for at, message in call_events(call, bpm, time.perf_counter() + 0.1)]
            play_into(player, events, threading.Event())
            time.sleep(2 * beat + 4 * beat + 0.3)
        finally:
            session.request_stop("bench")
            session.close()
            player.close()
            ear_reader.stop()
            ear.close()
        own = [(t, m) for t, m in heard if m.channel == PLAYER_CHANNEL]
        answer = [t for t, m in heard if m.channel != PLAYER_CHANNEL and m.type == "note_on" and m.velocity > 0]
        if not own or not answer:
            continue
        offs = [t for t, m in own if m.type == "note_off"]
        own = [t for t, m in own if m.type == "note_on"]
        phrase_end = offs[-1] + beat
        on_beat = own[0] + np.ceil((phrase_end - own[0]) / beat) * beat
        deviations.append(answer[0] - on_beat)
        waits.append(answer[0] - phrase_end)
    if not deviations:
        return {"skipped": "no answer was heard"}
    return {"phrases": len(deviations), "deviation_from_beat": percentiles_ms(np.abs(deviations)),
            "phrase_end_to_first_note": percentiles_ms(waits)}


# Peak RSS of the interpreter itself: ru_maxrss would carry the parent's peak across fork+exec
# on Linux, so VmHWM (this process image's high-water mark) is read where it exists.
PEAK_RSS = """
def peak_rss_kb():
    try:
        with open("/proc/self/status") as status:
            return int(next(line for line in status if line.startswith("VmHWM")).split()[1])
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

STARTUP_SCRIPT = PEAK_RSS + """
import sys, time
started = time.perf_counter()
from livegen.live import session, engine, scheduler, ports
from livegen.model import runtime, sampling
from livegen.model.runtime import StepModel
import numpy as np
rng = np.random.default_rng(0)
from livegen.model.preset import expected_arrays
weights = {n: (rng.standard_normal(s) * 0.1).astype(np.float32) for n, s in expected_arrays(%r).items()}
StepModel(weights).warm_up()
ready = time.perf_counter() - started
heavy = [m for m in ("tensorflow", "keras", "music21", "training") if m in sys.modules]
print(ready, peak_rss_kb(), ",".join(heavy))
"""

TF_SCRIPT = PEAK_RSS + """
import time
started = time.perf_counter()
__import__("tensorflow")
print(time.perf_counter() - started, peak_rss_kb())
"""


def bench_startup() -> dict:
    """Live process start-up to ready and peak RSS, in a fresh interpreter, vs importing TensorFlow."""
    output = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT % DEFAULT_DIMS], capture_output=True,
                            text=True, check=True).stdout.split()
    result = {"live_ready_s": round(float(output[0]), 3), "live_peak_rss_mb": round(int(output[1]) / 1024, 1),
              "heavy_modules_loaded": output[2] if len(output) > 2 else ""}
    tf = subprocess.run([sys.executable, "-c", TF_SCRIPT], capture_output=True, text=True,
                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if tf.returncode == 0:
        seconds, rss = tf.stdout.split()[-2:]
        result.update(tensorflow_import_s=round(float(seconds), 3), tensorflow_peak_rss_mb=round(int(rss) / 1024, 1))
    else:
        result["tensorflow_import"] = "not installed (the [train] extra)"
    return result


def comparison_rows(quick: bool) -> dict:
    """Rows that need the [train] extra: Keras inference, music21 ingest, training throughput."""
    try:
        from training.bench_ingest import bench_ingest
        from training.bench_training import bench_keras_step, bench_training
    except ImportError as error:
        return {"skipped": f"needs the [train] extra (TensorFlow, music21): {error}"}
    rows = {"keras_step": bench_keras_step(predict_calls=20 if quick else 200, steps=100 if quick else 2000)}
    if EXAMPLES.is_dir():
        rows["ingest"] = bench_ingest(EXAMPLES)
    rows["training"] = bench_training(seconds=4.0 if quick else 30.0)
    return rows


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
    log("sampling ...")
    results["sampling"] = bench_sampling(weights, 2000 if quick else 20000)
    log("answer readiness ...")
    results["readiness"] = bench_readiness(weights, repeats=2 if quick else 10)
    log("re-priming after a key change ...")
    results["reprime"] = bench_reprime(weights, 5 if quick else 50)
    log("accompany: re-planning on each player note ...")
    results["accompany"] = bench_accompany(weights, 4 if quick else 32)
    log("scheduler ...")
    results["scheduler"] = bench_scheduler(2.0 if quick else 60.0)
    log("JACK timing (jack_midi_dump) ...")
    results["jack"] = bench_jack(3.0 if quick else 60.0)
    log("answers on JACK ...")
    results["answer_on_jack"] = bench_answer_on_jack(weights, 2 if quick else 10)
    log("start-up and memory ...")
    results["startup"] = bench_startup()
    if compare:
        log("comparisons (Keras, music21, training) ...")
        results["comparisons"] = comparison_rows(quick)
    return results


def table(results: dict) -> str:
    """The results as a Markdown table: what, measured, anchor."""
    step, sampling, sched, start = results["step"], results["sampling"], results["scheduler"], results["startup"]
    rows = [
        ("model step (numpy, 256x2)", f"median {step['median_ms']} ms, p99 {step['p99_ms']} ms, max {step['max_ms']} ms", ""),
        ("sampling per token", f"median {1000 * sampling['median_ms']:.1f} us, p99 {1000 * sampling['p99_ms']:.1f} us", ""),
    ]
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
        rows.append(("MIDI ingest", f"{ingest['mido_files_per_s']:.0f} files/s",
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

