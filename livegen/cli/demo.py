"""``livegen demo``: a bundled phrase through real MIDI ports, and the companion's answer."""

from __future__ import annotations

from pathlib import Path

import click

from livegen.cli.errors import reports_errors
from livegen.cli.options import backend_option, temperature_option


@click.command()
@click.option("--preset", "preset_name", default="chorale", show_default=True,
              help="Bundled preset name or preset folder.")
@click.option("--call", "call_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="A .mid phrase to play (default: the bundled G major call).")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"),
              show_default=True, help="Where demo-session.mid and demo-session.wav go.")
@backend_option
@click.option("--seed", type=int, default=1, show_default=True)
@temperature_option(0.9)
@reports_errors
def demo(preset_name, call_file, out_dir, backend, seed, temperature):
    """Play a bundled phrase into the companion through real MIDI ports and hear its answer."""
    from livegen.demo import run as demos
    from livegen.model import preset as presets

    call = call_file or demos.BUNDLED_CALL
    loaded = presets.load(preset_name)
    report = demos.run_demo(loaded, call, out_dir, backend=backend, seed=seed, temperature=temperature,
                            log=lambda text: click.echo(text, err=True))
    click.echo(report.describe())
