"""``livegen train``: a preset from a folder of music (needs the [train] extra: TensorFlow, music21)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from livegen.cli.errors import Failure, reports_errors
from livegen.cli.options import option_group

# ``livegen train`` options named as the training settings they give (all but the key flags).
SETTINGS = ("epochs", "hidden", "layers", "embedding", "seq_len", "batch", "val_split", "augment",
            "minor_repeat", "patience", "learning_rate", "seed", "strategy", "precision", "voices", "max_minutes",
            "ingest_processes")


def train_key_mode(transpose: bool, mode_bars: bool | None) -> str:
    """``livegen train``'s key mode: moved to C major / A minor and told the mode unless the flags say otherwise."""
    if mode_bars and not transpose:
        raise click.BadParameter("the mode is told only to a model that learns in C major / A minor: "
                                 "drop --no-transpose or --mode-bars", param_hint="--mode-bars")
    if not transpose:
        return "as-is"
    return "canonical" if mode_bars is False else "canonical+mode"


def given_options(context: click.Context, values: dict) -> dict:
    """The options of ``values`` the user gave (not left at their defaults)."""
    return {name: value for name, value in values.items()
            if context.get_parameter_source(name) is not ParameterSource.DEFAULT}


def fine_tune_settings(base_key_mode: str, given: dict) -> dict:
    """The training settings the user gave to a fine-tune; key flags left out are the base's."""
    from livegen.music.key import tells_mode, transposes

    settings = {name: value for name, value in given.items() if name in SETTINGS}
    if "transpose" in given or "mode_bars" in given:
        transpose = given.get("transpose", transposes(base_key_mode))
        mode_bars = given.get("mode_bars", tells_mode(base_key_mode) if transpose else None)
        settings["key_mode"] = train_key_mode(transpose, mode_bars)
    return settings


# The training settings, one value: what the user gave among them decides what a fine-tune changes.
settings_group = option_group(
    "settings", dict,
    click.option("--epochs", type=click.IntRange(1, 10000), default=30, show_default=True),
    click.option("--size", "hidden", type=click.IntRange(4, 2048), default=256, show_default=True,
                 help="LSTM units per layer."),
    click.option("--layers", type=click.IntRange(1, 4), default=2, show_default=True),
    click.option("--embedding", type=click.IntRange(2, 1024), default=64, show_default=True),
    click.option("--seq-len", type=click.IntRange(8, 4096), default=256, show_default=True,
                 help="Tokens per training sequence (every one is a target)."),
    click.option("--batch", type=click.IntRange(1, 4096), default=32, show_default=True),
    click.option("--val-split", type=click.FloatRange(0.0, 0.5), default=0.1, show_default=True,
                 help="Share of files held out for validation."),
    click.option("--transpose/--no-transpose", default=True, show_default=True,
                 help="Move every piece to C major / A minor (the answer follows the call's key)."),
    click.option("--mode-bars/--no-mode-bars", default=None,
                 help="Tell the model each piece's mode: a minor piece's bars open with a minor bar "
                      "token, and at play time the call's mode opens the answer's bars. On with "
                      "--transpose (the default), which it needs."),
    click.option("--augment", type=click.IntRange(0, 6), default=0, show_default=True,
                 help="Also train on transpositions up to this many semitones each way."),
    click.option("--minor-repeat", type=click.IntRange(1, 8), default=1, show_default=True,
                 help="Train each minor piece this many times an epoch: in a mostly-major folder, "
                      "answers to minor calls then stay in minor."),
    click.option("--patience", type=click.IntRange(1, 1000), default=4, show_default=True,
                 help="Stop after this many epochs without a better validation loss."),
    click.option("--learning-rate", type=click.FloatRange(1e-6, 1.0), default=2e-3, show_default=True),
    click.option("--seed", type=int, default=0, show_default=True),
    click.option("--strategy", type=click.Choice(["default", "mirrored", "multi-worker"]), default="default",
                 show_default=True, help="tf.distribute strategy for machines with several GPUs or workers."),
    click.option("--precision", type=click.Choice(["float32", "mixed_bfloat16"]), default="float32", show_default=True,
                 help="mixed_bfloat16: bfloat16 arithmetic with float32 weights; with a larger --batch it trains "
                      "faster on CPUs with bfloat16 instructions (see BENCHMARKS.md)."),
    click.option("--voices/--no-voices", default=True, show_default=True,
                 help="Let the model hear, at every token, what still sounds and what the last onset struck: "
                      "its answers then follow voices from onset to onset (see BENCHMARKS.md)."),
    click.option("--max-minutes", type=click.FloatRange(0, 100_000), default=0.0, show_default=True,
                 help="Stop before an epoch that would end after this many minutes of fitting (the best "
                      "epoch is kept; a resumed run counts the earlier ones). 0: no limit."),
    click.option("--ingest-processes", type=click.IntRange(1, 64), default=min(4, os.cpu_count() or 1),
                 show_default="one per core, at most 4",
                 help="Worker processes that read the folder's files; what they parse is cached, so an "
                      "interrupted run reads only the files not yet parsed."),
)


@click.command()
@reports_errors
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Preset folder to write, e.g. presets/mine.")
@settings_group
@click.option("--from", "base_name", metavar="PRESET",
              help="Fine-tune this preset (a bundled name or a preset folder) on FOLDER: start from its "
                   "weights, with its vocabulary, key handling (--transpose, --mode-bars) and size "
                   "(--size, --layers, --embedding, --voices), which must not be contradicted. Unless "
                   "given, --learning-rate, --epochs and --patience follow the fine-tune recipe measured "
                   "in BENCHMARKS.md. The card compares the result with the base on the same held-out files.")
@click.option("--resume", is_flag=True, help="Continue an interrupted training of the same --out "
                                             "(a fine-tune: with the same --from).")
def train(folder, out_dir, settings: dict, base_name, resume):
    """Train a preset on a folder of MIDI (and MusicXML/kern/ABC) files, or fine-tune one (--from)."""
    try:
        from livegen.training.config import TrainConfig, fine_tune_config
        from livegen.training.trainer import train as run_training
    except ImportError as error:
        raise Failure(
            f"training needs the [train] extra (TensorFlow, music21): {error}. "
            "Install it with: pip install -e '.[train]'"
        ) from error
    base = None
    if base_name is None:
        config = TrainConfig(key_mode=train_key_mode(settings["transpose"], settings["mode_bars"]),
                             **{name: settings[name] for name in SETTINGS})
    else:
        from livegen.model import preset

        base = preset.load(base_name)
        given = given_options(click.get_current_context(), settings)
        config = fine_tune_config(base.config, **{**fine_tune_settings(base.key_mode, given),
                                                  "ingest_processes": settings["ingest_processes"]})
    try:
        written = run_training(folder, out_dir, config, resume=resume, log=lambda text: click.echo(text, err=True),
                               base=base)
    except KeyboardInterrupt:
        again = "" if base_name is None else f" --from {base_name}"
        click.echo(f"\ntraining interrupted; the last finished epoch is kept. "
                   f"Continue with: livegen train {folder} --out {out_dir}{again} --resume", err=True)
        sys.exit(130)
    click.echo(f"{written}: use it with 'livegen play --preset {written}'")
