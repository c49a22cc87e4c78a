"""How every ``livegen`` command turns errors into one line and an exit code, and keeps a bug's traceback."""

from __future__ import annotations

import functools
import logging
import sys
import traceback

import click

from livegen.errors import LivegenError, describe, write_bug_report


class Failure(click.ClickException):
    """A problem the user can fix, printed as one line without a traceback."""

    exit_code = 1

    def format_message(self) -> str:
        return self.message


def debugging() -> bool:
    """Whether ``livegen --debug`` was given (tracebacks on the terminal, diagnostics logged)."""
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.find_root().params.get("debug"))


def set_up_logging(debug: bool) -> None:
    """livegen's diagnostics (``logging``): off unless ``--debug``, then on stderr."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(asctime)s %(threadName)s %(name)s: %(message)s")


def bug(error: BaseException, what: str) -> Failure:
    """A bug, reported: its traceback kept in a log file (and shown with ``--debug``), one line naming it."""
    path = write_bug_report(error, what)
    if debugging():
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    return Failure(f"livegen hit a bug ({describe(error)}) while it {what}; the traceback is in {path}"
                   + ("" if debugging() else " (run with --debug to see it here)"))


def reports_errors(command):
    """Turn what the user can fix into one clear line and exit code 1; Ctrl-C into exit code 130;
    anything else, a bug, into a log file and one line that names it."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("\nstopped by Ctrl-C", err=True)
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except OSError as error:
            where = f" ({error.filename})" if error.filename and str(error.filename) not in str(error) else ""
            raise Failure(f"{error}{where}") from error
        except LivegenError as error:
            raise Failure(str(error)) from error
        except Exception as error:  # a bug: nothing the user did explains it
            raise bug(error, f"ran 'livegen {click.get_current_context().info_name}'") from error

    return wrapper
