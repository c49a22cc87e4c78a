"""``livegen doctor``: what to change when a session stutters."""

from __future__ import annotations

import sys

import click

from livegen.cli.errors import reports_errors


@click.command()
@click.option("--seconds", type=click.FloatRange(1, 60), default=5.0, show_default=True,
              help="How long to watch JACK for xruns while a probe sends MIDI through it.")
@reports_errors
def doctor(seconds):
    """Check the MIDI system, JACK's xruns and round trip, realtime priority, the CPU governor and
    the bundled presets; each problem comes with the one thing to change. Exit 1 if any."""
    from livegen.live import doctor as checks

    findings = checks.examine(seconds)
    for finding in findings:
        click.echo(f"{'ok' if finding.ok else 'PROBLEM':8s} {finding.topic:12s} {finding.found}")
        if finding.fix:
            click.echo(f"{'':8s} {'':12s} -> {finding.fix}")
    problems = sum(not finding.ok for finding in findings)
    click.echo("no problems found" if not problems else f"{problems} problem(s): fix the first one and run again")
    if problems:
        sys.exit(1)
