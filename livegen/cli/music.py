"""``livegen eval`` and ``livegen show``: how a preset plays, in numbers and in pictures."""

from __future__ import annotations

import json
from pathlib import Path

import click

from livegen.cli.errors import reports_errors
from livegen.cli.options import cadence_option, temperature_option, top_p_option


@click.command(name="eval")
@click.option("--preset", "preset_name", required=True, help="Bundled preset name or preset folder.")
@click.option("--calls", "calls_folder", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of held-out .mid pieces to cut calls from (default: the preset's calls/).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the full results as JSON.")
@click.option("--keys", type=click.IntRange(1, 12), default=6, show_default=True,
              help="Keys each call is moved to.")
@click.option("--seeds", type=click.IntRange(1, 100), default=3, show_default=True)
@click.option("--max-calls", type=click.IntRange(1, 10_000), default=12, show_default=True)
@temperature_option(0.95)
@top_p_option
@cadence_option
@click.option("--baseline-keys", type=click.IntRange(0, 12), default=2, show_default=True,
              help="Keys in which the notebook's greedy 40-token re-prediction is also measured "
                   "(slow; 0: not at all).")
@reports_errors
def eval_command(preset_name, calls_folder, json_path, keys, seeds, max_calls, temperature, top_p,
                 cadence, baseline_keys):
    """Answer held-out calls in several keys and measure the answers against the real music."""
    from livegen import evaluate
    from livegen.evaluate.calls import CALLS_FOLDER, read_calls
    from livegen.model import preset as presets

    loaded = presets.load(preset_name)
    folder = calls_folder if calls_folder is not None else loaded.path / CALLS_FOLDER
    if not folder.is_dir():
        raise FileNotFoundError(
            f"preset {loaded.name!r} carries no {CALLS_FOLDER}/ folder: give held-out pieces with "
            "--calls FOLDER (files the preset was not trained on)")
    config = evaluate.EvalConfig(keys=keys, seeds=seeds, max_calls=max_calls,
                                 temperature=temperature, top_p=loaded.top_p_or(top_p),
                                 cadence=loaded.cadence_or(cadence), baseline_keys=min(baseline_keys, keys))
    skipped = []
    calls = read_calls(folder, skipped)
    for name, reason in skipped:
        click.echo(f"skipped {name}: {reason}", err=True)
    result = evaluate.evaluate(loaded, calls, config)
    click.echo(f"preset {loaded.name!r}, calls from {folder}")
    click.echo(evaluate.format_table(result))
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        click.echo(f"results written to {json_path}")


@click.command(name="show")
@click.argument("midi_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="PNG file to write.")
@reports_errors
def show_command(midi_file, out_file):
    """Draw a MIDI file as a piano roll (PNG), one colour per track."""
    from livegen.render import pianoroll

    pianoroll.draw_file(midi_file, out_file)
    click.echo(f"piano roll of {midi_file} written to {out_file}")
