"""The ``livegen`` command. The only place that turns errors into messages and exit codes."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from livegen import __version__


class Failure(click.ClickException):
    """A problem the user can fix, printed as one line without a traceback."""

    exit_code = 1

    def format_message(self) -> str:
        return self.message


def reports_errors(command):
    """Turn library errors into one clear line and exit code 1; Ctrl-C into exit code 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("\nstopped by Ctrl-C", err=True)
            sys.exit(130)
        except (ValueError, OSError) as error:
            raise Failure(str(error)) from error

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="livegen")
def cli() -> None:
    """livegen: play a phrase, and a stateful LSTM answers in tempo."""


@cli.command()
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
@click.option("--augment", type=click.IntRange(0, 6), default=0, show_default=True,
              help="Also train on transpositions up to this many semitones each way.")
@click.option("--patience", type=click.IntRange(1, 1000), default=4, show_default=True,
              help="Stop after this many epochs without a better validation loss.")
@click.option("--learning-rate", type=click.FloatRange(1e-6, 1.0), default=2e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--strategy", type=click.Choice(["default", "mirrored", "multi-worker"]), default="default",
              show_default=True, help="tf.distribute strategy for machines with several GPUs or workers.")
@click.option("--resume", is_flag=True, help="Continue an interrupted training of the same --out.")
@reports_errors
def train(folder, out_dir, epochs, hidden, layers, embedding, seq_len, batch, val_split, transpose,
          augment, patience, learning_rate, seed, strategy, resume):
    """Train a preset on a folder of MIDI (and MusicXML/kern/ABC) files."""
    try:
        from training.trainer import TrainConfig, train as run_training
    except ImportError as error:
        raise Failure(
            f"training needs the [train] extra (TensorFlow, music21): {error}. "
            "Install it with: pip install -e '.[train]'"
        ) from error
    config = TrainConfig(
        epochs=epochs, embedding=embedding, hidden=hidden, layers=layers, seq_len=seq_len,
        batch=batch, val_split=val_split, canonical_key=transpose, augment=augment,
        patience=patience, learning_rate=learning_rate, seed=seed, strategy=strategy,
    )
    try:
        written = run_training(folder, out_dir, config, resume=resume, log=lambda text: click.echo(text, err=True))
    except KeyboardInterrupt:
        click.echo(f"\ntraining interrupted; the last finished epoch is kept. "
                   f"Continue with: livegen train {folder} --out {out_dir} --resume", err=True)
        sys.exit(130)
    click.echo(f"preset written to {written}")


@cli.command()
@click.option("--preset", "preset_name", required=True, help="Bundled preset name or preset folder.")
@click.option("--prime", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="A .mid file to continue.")
@click.option("--bars", type=click.IntRange(1, 512), default=8, show_default=True)
@click.option("-o", "--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--temperature", type=click.FloatRange(0.0, 5.0), default=1.0, show_default=True)
@click.option("--top-p", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.95, show_default=True)
@click.option("--top-k", type=click.IntRange(0, 256), default=0, show_default=True, help="0 is off.")
@click.option("--min-p", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True)
@click.option("--polyphony", type=click.IntRange(1, 16), default=6, show_default=True,
              help="Most notes sounding at once.")
@click.option("--key-lock", is_flag=True, help="Only notes of the prime's scale.")
@click.option("--seed", type=int, default=None, help="Same seed, same answer.")
@click.option("--bpm", type=click.FloatRange(20, 400), default=None, help="Tempo of the output (default: the prime's).")
@reports_errors
def generate(preset_name, prime, bars, out_file, temperature, top_p, top_k, min_p, polyphony,
             key_lock, seed, bpm):
    """Continue a MIDI file offline and write call and answer to a new .mid."""
    from livegen import generate as continuation, preset as presets
    from livegen.key import estimate_key
    from livegen.midifile import read_midi, write_midi
    from livegen.runtime import StepModel
    from livegen.sampling import Sampler, SamplingConfig

    loaded = presets.load(preset_name)
    piece = read_midi(prime)
    for warning in piece.warnings:
        click.echo(f"{prime.name}: {warning}", err=True)
    key = estimate_key(piece.notes)
    scale = key.scale() if key_lock else None
    if scale is not None and loaded.key_mode == "canonical":
        scale = frozenset((pc + key.to_canonical()) % 12 for pc in scale)
    config = SamplingConfig(temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p,
                            max_polyphony=polyphony, scale=scale)
    result = continuation.continue_notes(StepModel(loaded.weights), loaded.key_mode, piece.notes,
                                         piece.meter, bars, Sampler(config, seed=seed))
    tempo = bpm if bpm is not None else piece.tempo_bpm
    write_midi(out_file, [("call", piece.notes, 0), ("answer", result.notes, 1)], piece.meter, tempo)
    pitches = {note.pitch for note in result.notes}
    click.echo(
        f"{out_file}: {len(piece.notes)} notes of call in {key}, then {len(result.notes)} notes "
        f"({len(pitches)} different pitches) over {bars} bars at {tempo:.0f} bpm "
        f"from preset {loaded.name!r}"
    )


@cli.command(name="presets")
@reports_errors
def list_presets():
    """List bundled presets with what they are and how well they predict."""
    from livegen import preset as presets

    found = presets.list_presets()
    if not found:
        click.echo(f"no bundled presets in {presets.bundled_dir()}")
    for directory in found:
        try:
            config = presets.read_config(directory)
        except presets.PresetError as error:
            click.echo(f"{directory.name:12s} unreadable: {error}")
            continue
        loss = config.get("metrics", {}).get("val_loss_per_token")
        loss_text = f"held-out loss {loss:.2f}/token" if isinstance(loss, (int, float)) else ""
        click.echo(f"{directory.name:12s} {config.get('description', '')} {loss_text}".rstrip())


def main() -> None:
    """Console entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cli(prog_name="livegen")
