"""``livegen ports``, and the MIDI backend every command that opens a port chooses first."""

from __future__ import annotations

import click

from livegen.cli.errors import Failure, reports_errors
from livegen.cli.options import backend_option


def use_backend(name):
    """Select the MIDI backend ``--backend`` names (or the default), saying so when it falls back."""
    from livegen.live import ports

    try:
        choice = ports.select_backend(name)
    except ports.PortError as error:
        raise Failure(str(error)) from error
    if choice.note:
        click.echo(choice.note, err=True)
    return choice


@click.command(name="ports")
@backend_option
@reports_errors
def list_ports(backend):
    """List MIDI inputs (keyboards) and outputs (synths, DAW tracks)."""
    from livegen.live import ports

    choice = use_backend(backend)
    inputs, outputs = ports.list_ports()
    click.echo(f"MIDI backend: {choice.name}")
    click.echo("inputs (use with --in):")
    for name in inputs or ["(none)"]:
        click.echo(f"  {name}")
    click.echo("outputs (use with --out):")
    for name in outputs or ["(none)"]:
        click.echo(f"  {name}")
