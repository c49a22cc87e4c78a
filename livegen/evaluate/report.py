"""An evaluation's summary, its targets, and its tables for people."""

from __future__ import annotations

import numpy as np

from livegen.evaluate.features import FEATURES

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


def summarise(rows: list[dict]) -> dict:
    """Mean of every metric; echo and copied bars also as maxima (the targets are on maxima)."""
    summary = {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}
    summary["mean_echo"] = summary["echo"]
    summary["echo"] = float(max(row["echo"] for row in rows))
    summary["copied_bars"] = float(max(row["copied_bars"] for row in rows))
    return summary


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
        f"top-p {result['sampling']['top_p']}; "
        f"{'answers close on the tonic chord' if result['sampling']['cadence'] else 'no closing chord'}. "
        f"Novelty against {result['novelty_reference']}."
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
    if "unfamiliar" in result:
        lines += ["", *unfamiliar_table(result["unfamiliar"])]
    if "style" in result:
        lines += ["", *style_table(result["style"])]
    return "\n".join(lines)


def unfamiliar_table(unfamiliar: dict) -> list[str]:
    """Answers to made-up calls unlike the training pieces, against the key they were written in."""
    lines = [
        f"Calls unlike the training pieces: {unfamiliar['calls']} made-up 2-bar melodies, alone and over "
        f"left-hand chords, in all 24 keys and in 4/4, 3/4 and 6/8 ({unfamiliar['answers']} answers), "
        "judged against the key each was written in "
        f"(targets: key correlation >= 0.75, >= 0.9 in scale: {'met' if unfamiliar['met'] else '**not met**'}).",
        "",
        "| calls | key correlation | note time in scale |",
        "|---|---:|---:|",
    ]
    for kind, row in unfamiliar["by_kind"].items():
        lines.append(f"| {kind} | {row['key_correlation']:.2f} | {row['in_scale']:.2f} |")
    lines.append(f"| all | {unfamiliar['key_correlation']:.2f} | {unfamiliar['in_scale']:.2f} |")
    return lines


def style_table(style: dict) -> list[str]:
    """The style test: how well a classifier tells answers from real, its controls, and what differs."""
    if "not_measured" in style:
        return [f"Style: not measured: {style['not_measured']}."]
    lines = [
        f"Style: a logistic regression on {len(style['features'])} musical features, cross-validated by piece, "
        f"tells {style['answers']} answers from the {style['real']} real continuations of the same calls "
        f"(cut every {style['hop_bars']} bars of {style['pieces']} held-out pieces). 0.5 is \"cannot tell\".",
        "",
        "| style test (balanced accuracy) | value | should be |",
        "|---|---:|---|",
        f"| answers vs real continuations | {style['accuracy']:.3f} | <= {style['target']:.2f} "
        f"({'met' if style['met'] else '**not met**'}) |",
        f"| control: real vs other real | {style['control_real_vs_real']:.3f} | about 0.5 |",
        f"| control: random pitches on the real rhythm vs real | {style['control_random_pitches']:.3f} | >= 0.9 |",
        "",
        "| feature | answers | real | gap (real sd) |",
        "|---|---:|---:|---:|",
    ]
    for name, row in sorted(style["features"].items(), key=lambda item: -abs(item[1]["gap_sd"])):
        lines.append(f"| {FEATURES[name]} | {row['answers']:.2f} | {row['real']:.2f} | {row['gap_sd']:+.2f} |")
    return lines
