"""``livegen train``: a preset from a folder of music (needs the [train] extra: TensorFlow, music21)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from livegen.cli.errors import Failure, reports_errors


def train_key_mode(transpose: bool, mode_bars: bool | None) -> str:
    """``livegen train``'s key mode: moved to C major / A minor and told the mode unless the flags say otherwise."""
    if mode_bars and not transpose:
        raise click.BadParameter("the mode is told only to a model that learns in C major / A minor: "
                                 "drop --no-transpose or --mode-bars", param_hint="--mode-bars")
    if not transpose:
        return "as-is"
    return "canonical" if mode_bars is False else "canonical+mode"


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Preset folder to write, e.g. presets/mine.")
@click.option("--epochs", type=click.IntRange(1, 10000), default=30, show_default=True)
@click.option("--size", "hidden", type=click.IntRange(4, 2048), default=256, show_default=True,
              help="LSTM units per layer.")
@click.option("--layers", type=click.IntRange(1, 4), default=2, show_default=True)
@click.option("--embedding", type=click.IntRange(2, 1024), default=64, show_default=True)
@click.option("--seq-len", type=click.IntRange(8, 4096), default=256, show_default=True,
              help="Tokens per training sequence (every one is a target).")
@click.option("--batch", type=click.IntRange(1, 4096), default=32, show_default=True)
@click.option("--val-split", type=click.FloatRange(0.0, 0.5), default=0.1, show_default=True,
              help="Share of files held out for validation.")
@click.option("--transpose/--no-transpose", default=True, show_default=True,
              help="Move every piece to C major / A minor (the answer follows the call's key).")
@click.option("--mode-bars/--no-mode-bars", default=None,
              help="Tell the model each piece's mode: a minor piece's bars open with a minor bar "
                   "token, and at play time the call's mode opens the answer's bars. On with "
                   "--transpose (the default), which it needs.")
@click.option("--augment", type=click.IntRange(0, 6), default=0, show_default=True,
              help="Also train on transpositions up to this many semitones each way.")
@click.option("--minor-repeat", type=click.IntRange(1, 8), default=1, show_default=True,
              help="Train each minor piece this many times an epoch: in a mostly-major folder, "
                   "answers to minor calls then stay in minor.")
@click.option("--patience", type=click.IntRange(1, 1000), default=4, show_default=True,
              help="Stop after this many epochs without a better validation loss.")
@click.option("--learning-rate", type=click.FloatRange(1e-6, 1.0), default=2e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--strategy", type=click.Choice(["default", "mirrored", "multi-worker"]), default="default",
              show_default=True, help="tf.distribute strategy for machines with several GPUs or workers.")
@click.option("--precision", type=click.Choice(["float32", "mixed_bfloat16"]), default="float32", show_default=True,
              help="mixed_bfloat16: bfloat16 arithmetic with float32 weights; with a larger --batch it trains "
                   "faster on CPUs with bfloat16 instructions (see BENCHMARKS.md).")
@click.option("--voices/--no-voices", default=True, show_default=True,
              help="Let the model hear, at every token, what still sounds and what the last onset struck: "
                   "its answers then follow voices from onset to onset (see BENCHMARKS.md).")
@click.option("--resume", is_flag=True, help="Continue an interrupted training of the same --out.")
@reports_errors
def train(folder, out_dir, epochs, hidden, layers, embedding, seq_len, batch, val_split, transpose,
          mode_bars, augment, minor_repeat, patience, learning_rate, seed, strategy, precision, voices, resume):
    """Train a preset on a folder of MIDI (and MusicXML/kern/ABC) files."""
    key_mode = train_key_mode(transpose, mode_bars)
    try:
        from training.trainer import TrainConfig, train as run_training
    except ImportError as error:
        raise Failure(
            f"training needs the [train] extra (TensorFlow, music21): {error}. "
            "Install it with: pip install -e '.[train]'"
        ) from error
    config = TrainConfig(
        epochs=epochs, embedding=embedding, hidden=hidden, layers=layers, seq_len=seq_len,
        batch=batch, val_split=val_split, key_mode=key_mode, augment=augment, minor_repeat=minor_repeat,
        patience=patience, learning_rate=learning_rate, seed=seed, strategy=strategy, precision=precision,
        voices=voices,
    )
    try:
        written = run_training(folder, out_dir, config, resume=resume, log=lambda text: click.echo(text, err=True))
    except KeyboardInterrupt:
        click.echo(f"\ntraining interrupted; the last finished epoch is kept. "
                   f"Continue with: livegen train {folder} --out {out_dir} --resume", err=True)
        sys.exit(130)
    click.echo(f"{written}: use it with 'livegen play --preset {written}'")
