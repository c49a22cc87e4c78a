"""``livegen bench``: the live path's numbers against their anchors."""

from __future__ import annotations

from pathlib import Path

import click

from livegen.cli.errors import reports_errors


@click.command()
@click.option("--quick", is_flag=True, help="Short runs: a smoke test, not numbers to publish.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every number to this JSON file.")
@click.option("--no-compare", is_flag=True, help="Skip the rows that need TensorFlow and music21.")
@reports_errors
def bench(quick, json_path, no_compare):
    """Measure the live path (step, sampling, readiness, scheduler, start-up) against its anchors."""
    from livegen.bench import live as benchmarks

    results = benchmarks.run(quick=quick, compare=not no_compare, log=lambda text: click.echo(text, err=True))
    machine = results["machine"]
    click.echo(f"{machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, {machine['date']}"
               + (" (quick run)" if quick else ""))
    click.echo(benchmarks.table(results))
    if json_path is not None:
        benchmarks.write_json(results, json_path)
        click.echo(f"wrote {json_path}")
