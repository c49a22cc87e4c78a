"""Does a preset answer like music? Calls cut from held-out pieces, answered in many keys, measured.

Each held-out piece gives a call (``call_bars`` bars) and its real continuation (the next
``answer_bars`` bars). Every call is moved to several keys, the preset answers it with
:func:`livegen.generate.continue_notes` under several seeds, and the answers are measured
against the call's key, the real continuation, the call itself (echo) and the training data
(novelty). The notebook's way of playing (greedy argmax, re-predicting from the last 40 tokens
with a fresh state every step) is measured on the same calls as a baseline. Numpy only: no
TensorFlow, no music21.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from livegen.music import codec
from livegen.model.generate import continue_notes, hear_prime
from livegen.music.key import MODES, Key, bar_token, estimate_key, in_scale_ratio, key_correlation, tells_mode, transposes
from livegen.music.midifile import Piece
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig

# Shifts (semitones) that move each call into other keys: sharps and flats, up and down.
KEY_SHIFTS = (0, 5, -2, 3, -4, 1, -5, 2, 4, -1, 6, -3)
LONG_NOTE_TICKS = 4 * codec.TICKS_PER_BEAT
GRID_STEPS = (3, 4)  # sixteenths and eighth triplets, in ticks of 1/12 beat
SYSTEMS = ("model", "greedy40", "real")
SYSTEM_TITLES = {"model": "this preset", "greedy40": "notebook greedy-40", "real": "real continuation"}

# metric: (title, format) in table order.
METRICS = {
    "key_correlation": ("key correlation with the call's key", "{:.2f}"),
    "in_scale": ("note time in the call's scale", "{:.2f}"),
    "on_grid": ("onsets on the 16th/triplet grid", "{:.2f}"),
    "notes_per_bar": ("notes per bar", "{:.1f}"),
    "density_ratio": ("density / real continuation's", "{:.2f}"),
    "polyphony": ("mean sounding notes", "{:.2f}"),
    "long_note_share": ("note time in notes > 4 beats", "{:.2f}"),
    "echo": ("longest pitch run copied from the call (max)", "{:.0f}"),
    "mean_echo": ("longest pitch run copied from the call (mean)", "{:.1f}"),
    "copied_bars": ("longest run of bars copied verbatim (max)", "{:.0f}"),
    "silent": ("answers with 2+ empty bars in a row", "{:.2f}"),
    "one_note": ("answers with at most 2 pitches", "{:.2f}"),
    "wall": ("answers 3x denser than the real one", "{:.2f}"),
}


class EvaluationError(ValueError):
    """The evaluation cannot run; the message says why."""


@dataclass(frozen=True)
class EvalConfig:
    """How many calls, keys and seeds, and how the preset samples its answers."""

    call_bars: int = 2
    answer_bars: int = 8
    keys: int = 6
    seeds: int = 3
    temperature: float = 0.95
    top_p: float = 0.95
    max_calls: int = 12
    greedy_window: int = 40
    baseline_keys: int = 2  # the greedy baseline costs ~40 steps a token: fewer keys (0: none)

    def __post_init__(self) -> None:
        for name, lowest, highest in (("call_bars", 1, 16), ("answer_bars", 1, 64),
                                      ("keys", 1, len(KEY_SHIFTS)), ("seeds", 1, 100),
                                      ("max_calls", 1, 10_000), ("greedy_window", 1, 10_000),
                                      ("baseline_keys", 0, len(KEY_SHIFTS))):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
                raise EvaluationError(f"{name} must be between {lowest} and {highest}, got {value!r}")
        SamplingConfig(temperature=self.temperature, top_p=self.top_p)  # raises on bad values


@dataclass(frozen=True)
class Call:
    """A call cut from a piece, its real continuation, and the piece, all in one key and frame."""

    name: str
    notes: tuple[codec.Note, ...]
    continuation: tuple[codec.Note, ...]
    piece_notes: tuple[codec.Note, ...]  # the rest of the piece in the call's frame (novelty fallback)
    meter: codec.Meter
    start_bar: int  # the continuation's first bar in the call's frame

    def transposed(self, semitones: int) -> Call:
        return Call(self.name, tuple(codec.transpose(self.notes, semitones)),
                    tuple(codec.transpose(self.continuation, semitones)),
                    tuple(codec.transpose(self.piece_notes, semitones)), self.meter, self.start_bar)


def cut_calls(pieces, config: EvalConfig = EvalConfig()) -> list[Call]:
    """One call per piece (from its second bar, after any pickup), for up to ``max_calls`` pieces.

    ``pieces`` are ``(name, Piece)`` pairs; pieces too short or with an empty call or
    continuation are passed over.
    """
    calls = []
    for name, piece in pieces:
        call = _cut(name, piece, config)
        if call is not None:
            calls.append(call)
        if len(calls) == config.max_calls:
            break
    return calls


def _cut(name: str, piece: Piece, config: EvalConfig) -> Call | None:
    meter, notes = piece.meter, piece.notes
    if not notes:
        return None
    last_bar = meter.locate(max(note.onset for note in notes))[0]
    span = config.call_bars + config.answer_bars
    first = 1 if last_bar + 1 >= span + 1 else 0
    if last_bar + 1 < first + span:
        return None
    start, middle, end = (meter.bar_start(first + bars) for bars in (0, config.call_bars, span))
    bar_ticks = meter.bar_ticks(first)
    if any(meter.bar_ticks(first + bar) != bar_ticks for bar in range(span)):
        return None  # a meter change inside the call or answer: one constant meter keeps it simple
    moved = [codec.Note(note.onset - start, note.pitch, note.velocity, note.duration)
             for note in notes if note.onset >= start]
    call = tuple(note for note in moved if note.onset < middle - start)
    continuation = tuple(note for note in moved if middle - start <= note.onset < end - start)
    if len(call) < 3 or not continuation:
        return None
    # The fallback novelty reference: the piece without the continuation itself.
    answered = set(continuation)
    elsewhere = tuple(note for note in moved if note not in answered)
    return Call(name, call, continuation, elsewhere, codec.Meter(((0, bar_ticks),)),
                config.call_bars)


def continue_windowed(model: StepModel, key_mode: str, prime, meter: codec.Meter, bars: int,
                      window: int) -> tuple[list[codec.Note], int]:
    """The notebook's way: each next token is the likeliest after the last ``window`` tokens,
    re-predicted from a fresh state (no memory beyond the window); grammar and key as usual.

    Returns the answer's notes and its last bar, as :func:`continue_notes` does.
    """
    _, shift, history, cursor = hear_prime(key_mode, prime, meter)
    greedy = Sampler(SamplingConfig(temperature=0.0))
    last_bar = cursor.bar + bars
    answer = []
    while True:
        logits = model.feed(history[-window:], model.initial_state())
        token = greedy.choose(logits, cursor)
        if token == cursor.bar_token and cursor.bar + 1 > last_bar:
            break
        note = cursor.advance(token)
        if note is not None:
            answer.append(note)
        history.append(token)
    return (codec.transpose(answer, -shift) if shift else answer), last_bar


def answer_metrics(answer, first_bar: int, call: Call, key: Key, bars: int, reference_bars: dict,
                   reference_frame_shift: int) -> dict:
    """Every measure of one answer (notes in the call's frame, from bar ``first_bar`` on)."""
    start = call.meter.bar_start(first_bar)
    bar_ticks = call.meter.bar_ticks(first_bar)
    end = start + bars * bar_ticks
    notes = [note for note in answer if start <= note.onset < end]
    real_density = len(call.continuation) / bars
    density = len(notes) / bars
    bar_counts = np.bincount([(note.onset - start) // bar_ticks for note in notes], minlength=bars)
    total_time = sum(note.duration for note in notes)
    framed = codec.transpose(notes, reference_frame_shift) if reference_frame_shift else notes
    return {
        "key_correlation": key_correlation(key, notes),
        "in_scale": in_scale_ratio(key, notes),
        "on_grid": _share(sum(any((note.onset - start) % step == 0 for step in GRID_STEPS)
                              for note in notes), len(notes)),
        "notes_per_bar": density,
        "density_ratio": density / real_density,
        "polyphony": _polyphony(notes, start, end),
        "long_note_share": _share(sum(note.duration for note in notes
                                      if note.duration > LONG_NOTE_TICKS), total_time),
        "echo": _longest_common_run(_pitches(notes), _pitches(call.notes)),
        "copied_bars": _longest_copied_bars(_bar_signatures(framed, start, bar_ticks, bars),
                                            reference_bars),
        "silent": float(_longest_zero_run(bar_counts) >= 2),
        "one_note": float(len({note.pitch for note in notes}) <= 2),
        "wall": float(density > 3 * real_density),
    }


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole else 0.0


def _polyphony(notes, start: int, end: int) -> float:
    """Time-averaged count of sounding notes, over the time anything sounds."""
    sounding = np.zeros(end - start, dtype=np.int32)
    for note in notes:
        sounding[note.onset - start:min(note.end, end) - start] += 1
    busy = sounding[sounding > 0]
    return float(busy.mean()) if busy.size else 0.0


def _pitches(notes) -> list[int]:
    return [note.pitch for note in sorted(notes, key=lambda note: (note.onset, note.pitch))]


def _longest_common_run(first, second) -> int:
    """Length of the longest run of consecutive items found in both sequences."""
    best = 0
    previous = [0] * (len(second) + 1)
    for item in first:
        current = [0] * (len(second) + 1)
        for index, other in enumerate(second, start=1):
            if item == other:
                current[index] = previous[index - 1] + 1
                best = max(best, current[index])
        previous = current
    return best


def _longest_zero_run(counts) -> int:
    best = run = 0
    for count in counts:
        run = run + 1 if count == 0 else 0
        best = max(best, run)
    return best


def _bar_signatures(notes, start: int, bar_ticks: int, bars: int) -> list[tuple]:
    """Each bar's notes as ``(position, pitch, duration)`` (durations on the codec's grid)."""
    signatures = [[] for _ in range(bars)]
    for note in notes:
        bar, position = divmod(note.onset - start, bar_ticks)
        if 0 <= bar < bars:
            signatures[bar].append((position, note.pitch, codec.quantize_duration(note.duration)))
    return [tuple(sorted(bar)) for bar in signatures]


def reference_index(pieces) -> dict:
    """Non-empty bar signature -> ``{(piece, bar)}`` over ``(notes, meter)`` pieces."""
    index: dict[tuple, set] = {}
    for number, (notes, meter) in enumerate(pieces):
        if not notes:
            continue
        bars: dict[int, list] = {}
        for note in notes:
            bar, position = meter.locate(note.onset)
            bars.setdefault(bar, []).append(
                (position, note.pitch, codec.quantize_duration(note.duration)))
        for bar, content in bars.items():
            index.setdefault(tuple(sorted(content)), set()).add((number, bar))
    return index


def _longest_copied_bars(signatures, index: dict) -> int:
    """Longest run of consecutive non-empty bars equal to consecutive bars of one reference piece."""
    best = 0
    runs: dict[tuple[int, int], int] = {}
    for signature in signatures:
        places = index.get(signature, ()) if signature else ()
        runs = {(piece, bar): runs.get((piece, bar - 1), 0) + 1 for piece, bar in places}
        best = max(best, max(runs.values(), default=0))
    return best


def canonical(notes, key_mode: str, key: Key | None = None) -> list[codec.Note]:
    """Notes as a preset of this key mode learns them: moved by their key (estimated unless
    given) to C major / A minor (``canonical``, ``canonical+mode``), or as they are (``as-is``)."""
    if not transposes(key_mode):
        return list(notes)
    key = key or estimate_key(notes)
    return codec.merge_unisons(codec.transpose(notes, key.to_canonical()))


def canonical_stream(notes, meter: codec.Meter, key_mode: str) -> list[int]:
    """A piece's tokens as a preset of this key mode learns them (its bars told its mode where
    the key mode says so)."""
    key = estimate_key(notes)
    return codec.encode(canonical(notes, key_mode, key), meter, bar_token=bar_token(tells_mode(key_mode), key))


def model_loss_per_token(model: StepModel, streams) -> float:
    """Mean negative log-likelihood (nats) of every target of ``streams`` under the step model."""
    total, count = 0.0, 0
    for stream in streams:
        state = model.initial_state()
        for token, target in zip(stream[:-1], stream[1:]):
            logits = model.step(int(token), state).astype(np.float64)
            top = logits.max()
            total += top + math.log(np.exp(logits - top).sum()) - logits[target]
            count += 1
    if count == 0:
        raise EvaluationError("no targets to measure the loss on: every held-out piece is empty")
    return total / count


def evaluate(preset, calls, config: EvalConfig = EvalConfig(), training_pieces=None,
             progress=None) -> dict:
    """Answer held-out calls in many keys and measure the answers; a JSON-ready dict.

    ``calls``: ``(name, Piece)`` held-out pieces. ``training_pieces``: the preset's training
    pieces, when at hand, for the Markov baseline's loss and for novelty; without them the loss
    comparison comes from the model card and novelty is checked against the held-out piece only.
    """
    calls = list(calls)
    cut = cut_calls(calls, config)
    if not cut:
        raise EvaluationError(
            f"none of the {len(calls)} held-out pieces is long enough for a {config.call_bars}-bar "
            f"call and a {config.answer_bars}-bar continuation with at least 3 call notes"
        )
    model = StepModel(preset.weights)
    novelty_index = None
    if training_pieces is not None:
        novelty_index = reference_index(
            (canonical(piece.notes, preset.key_mode), piece.meter)
            for _, piece in training_pieces)
    systems = SYSTEMS if config.baseline_keys else ("model", "real")
    samples: dict[str, list[dict]] = {system: [] for system in systems}
    by_mode: dict[str, dict[str, list[float]]] = {system: {mode: [] for mode in MODES} for system in systems}
    calls_by_mode = {mode: 0 for mode in MODES}
    example = None
    for number, original in enumerate(cut):
        for key_number, shift in enumerate(KEY_SHIFTS[:config.keys]):
            answered = _answer_in_key(model, preset.key_mode, original.transposed(shift),
                                      key_number < config.baseline_keys, novelty_index, config)
            for system, rows in answered["metrics"].items():
                samples[system].extend(rows)
                by_mode[system][answered["mode"]].extend(row["key_correlation"] for row in rows)
            example = example or answered["example"]
        calls_by_mode[answered["mode"]] += 1  # a call's mode is the same in every key
        if progress is not None:
            progress(number + 1, len(cut))
    summary = {system: _summarise(rows) for system, rows in samples.items()}
    result = {
        "preset": preset.name,
        "calls": [call.name for call in cut],
        "key_shifts": list(KEY_SHIFTS[:config.keys]),
        "seeds": config.seeds,
        "answers": len(samples["model"]),
        "baseline_answers": len(samples.get("greedy40", [])),
        "sampling": {"temperature": config.temperature, "top_p": config.top_p},
        "call_bars": config.call_bars,
        "answer_bars": config.answer_bars,
        "novelty_reference": "training data" if novelty_index is not None else "the held-out piece only",
        "loss": _losses(model, preset, cut, calls, training_pieces),
        "systems": summary,
        "key_correlation_by_call_mode": {
            mode: {"calls": calls_by_mode[mode],
                   **{system: float(np.mean(by_mode[system][mode])) if by_mode[system][mode] else None
                      for system in systems}}
            for mode in MODES},
    }
    result["targets"] = targets(summary["model"])
    result["example"] = example
    return result


def _answer_in_key(model: StepModel, key_mode: str, call: Call, with_baseline: bool,
                   novelty_index: dict | None, config: EvalConfig) -> dict:
    """Answers to one call in one key (every seed, and the greedy baseline), measured."""
    key = estimate_key(call.notes)
    if novelty_index is not None:
        reference, frame_shift = novelty_index, key.to_canonical() if transposes(key_mode) else 0
    else:
        reference, frame_shift = reference_index([(call.piece_notes, call.meter)]), 0

    def measure(answer, last_bar):
        return answer_metrics(answer, last_bar - config.answer_bars + 1, call, key,
                              config.answer_bars, reference, frame_shift)

    sampling = SamplingConfig(temperature=config.temperature, top_p=config.top_p)
    answers = [continue_notes(model, key_mode, list(call.notes), call.meter, config.answer_bars,
                              Sampler(sampling, seed=seed)) for seed in range(config.seeds)]
    metrics = {
        "real": [measure(call.continuation, call.start_bar + config.answer_bars - 1)],
        "model": [measure(answer.notes, answer.last_bar) for answer in answers],
    }
    if with_baseline:
        metrics["greedy40"] = [measure(*continue_windowed(
            model, key_mode, list(call.notes), call.meter, config.answer_bars, config.greedy_window))]
    return {"metrics": metrics, "mode": key.mode, "example": _example(call, answers[0].notes, key)}


def _summarise(rows: list[dict]) -> dict:
    """Mean of every metric; echo and copied bars also as maxima (the targets are on maxima)."""
    summary = {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}
    summary["mean_echo"] = summary["echo"]
    summary["echo"] = float(max(row["echo"] for row in rows))
    summary["copied_bars"] = float(max(row["copied_bars"] for row in rows))
    return summary


def _example(call: Call, answer, key: Key) -> dict:
    """The first answer, JSON-ready (notes as ``[onset, pitch, velocity, duration]``)."""
    return {
        "name": call.name,
        "key": str(key),
        "bar_ticks": call.meter.bar_ticks(0),
        "answer_start": call.meter.bar_start(call.start_bar),
        "call": [[note.onset, note.pitch, note.velocity, note.duration] for note in call.notes],
        "answer": [[note.onset, note.pitch, note.velocity, note.duration] for note in answer],
        "real": [[note.onset, note.pitch, note.velocity, note.duration] for note in call.continuation],
    }


def _losses(model, preset, cut, calls, training_pieces) -> dict:
    """Held-out loss of the model and an order-3 Markov model, in nats per token."""
    used = {call.name for call in cut}
    pieces = [piece for name, piece in calls if name in used]
    streams = [canonical_stream(piece.notes, piece.meter, preset.key_mode) for piece in pieces]
    losses = {"model": model_loss_per_token(model, streams), "pieces": len(streams)}
    metrics = preset.config.get("metrics", {})
    losses["card_model_val"] = metrics.get("val_loss_per_token")
    losses["card_markov3_val"] = metrics.get("markov3_val_loss_per_token")
    if training_pieces is None:
        losses["markov3"] = None
        losses["markov3_note"] = "no training data at hand: see the card's validation losses"
        return losses
    try:
        from livegen.evaluate.baseline import MarkovModel
    except ImportError as error:
        losses["markov3"] = None
        losses["markov3_note"] = f"livegen.evaluate.baseline is not installed ({error})"
        return losses
    training_streams = [canonical_stream(piece.notes, piece.meter, preset.key_mode)
                        for _, piece in training_pieces]
    markov = MarkovModel(model.vocab_size)
    losses["markov3"] = markov.fit(training_streams).loss_per_token(streams)
    losses["markov3_note"] = "fitted on the training pieces, measured on the evaluation's pieces"
    return losses


def targets(model: dict) -> list[dict]:
    """The issue's targets for answers, each with its measured value and whether it is met."""
    checks = [
        ("mean key correlation >= 0.75", model["key_correlation"], model["key_correlation"] >= 0.75),
        (">= 0.9 of note time in the call's scale", model["in_scale"], model["in_scale"] >= 0.9),
        ("< 30% of note time in notes > 4 beats", model["long_note_share"], model["long_note_share"] < 0.3),
        ("density within +-50% of the real continuation's", model["density_ratio"],
         0.5 <= model["density_ratio"] <= 1.5),
        ("no echo longer than 8 pitches", model["echo"], model["echo"] <= 8),
        ("<= 2 bars copied verbatim", model["copied_bars"], model["copied_bars"] <= 2),
    ]
    return [{"target": name, "value": round(float(value), 3), "met": bool(met)} for name, value, met in checks]


def format_table(result: dict) -> str:
    """The evaluation as Markdown tables: metrics by system, losses, targets."""
    systems = list(result["systems"])
    lines = [
        f"{len(result['calls'])} held-out calls x {len(result['key_shifts'])} keys "
        f"(shifts {', '.join(f'{shift:+d}' for shift in result['key_shifts'])} semitones) x "
        f"{result['seeds']} seeds = {result['answers']} answers of {result['answer_bars']} bars to "
        f"{result['call_bars']}-bar calls; temperature {result['sampling']['temperature']}, "
        f"top-p {result['sampling']['top_p']}. Novelty against {result['novelty_reference']}."
        + (f" The greedy baseline (deterministic) answers each call in the first "
           f"{result['baseline_answers'] // len(result['calls'])} keys." if result["baseline_answers"] else ""),
        "",
        "| metric | " + " | ".join(SYSTEM_TITLES[system] for system in systems) + " |",
        "|---|" + "---:|" * len(systems),
    ]
    for name, (title, form) in METRICS.items():
        cells = [form.format(result["systems"][system][name]) for system in systems]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    loss = result["loss"]
    markov = "n/a" if loss["markov3"] is None else f"{loss['markov3']:.3f}"
    lines += ["", "| held-out loss (nats/token) | value |", "|---|---:|",
              f"| this preset, on the {loss['pieces']} evaluation pieces | {loss['model']:.3f} |",
              f"| order-3 Markov, same pieces | {markov} |"]
    if loss["card_model_val"] is not None:
        lines.append(f"| this preset, validation files (model card) | {loss['card_model_val']:.3f} |")
    if loss["card_markov3_val"] is not None:
        lines.append(f"| order-3 Markov, validation files (model card) | {loss['card_markov3_val']:.3f} |")
    if loss["markov3"] is None:
        lines.append(f"\nMarkov on the evaluation pieces: {loss['markov3_note']}.")
    by_mode = result["key_correlation_by_call_mode"]
    lines += ["", "| key correlation of answers to | calls | "
              + " | ".join(SYSTEM_TITLES[system] for system in systems) + " |",
              "|---|---:|" + "---:|" * len(systems)]
    for mode, row in by_mode.items():
        cells = ["n/a" if row[system] is None else f"{row[system]:.2f}" for system in systems]
        lines.append(f"| {mode} calls | {row['calls']} | " + " | ".join(cells) + " |")
    lines += ["", "| target | value | met |", "|---|---:|:---:|"]
    lines += [f"| {check['target']} | {check['value']:.3g} | {'yes' if check['met'] else '**no**'} |"
              for check in result["targets"]]
    return "\n".join(lines)
