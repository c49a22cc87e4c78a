"""The ``livegen`` command: turns options into configs and errors into messages and exit codes.

One module per command group; this one holds the click group and the console entry point.
"""

from __future__ import annotations

import os

import click

from livegen import __version__
from livegen.cli.bench import bench
from livegen.cli.demo import demo
from livegen.cli.doctor import doctor
from livegen.cli.errors import set_up_logging
from livegen.cli.generate import generate
from livegen.cli.music import eval_command, show_command
from livegen.cli.play import calibrate, panic, play
from livegen.cli.ports import list_ports
from livegen.cli.presets import list_presets
from livegen.cli.train import train

COMMANDS = (train, generate, list_presets, list_ports, panic, play, demo, bench, calibrate, eval_command,
            show_command, doctor)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="livegen")
@click.option("--debug", is_flag=True, help="Show a bug's traceback here (it is always kept in a log file) and "
                                           "log livegen's diagnostics.")
def cli(debug) -> None:
    """livegen: play a phrase, and a stateful LSTM answers in tempo."""
    set_up_logging(debug)


for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    """Console entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cli(prog_name="livegen")
