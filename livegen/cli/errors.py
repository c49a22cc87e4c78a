"""How every ``livegen`` command turns library errors into one line and an exit code."""

from __future__ import annotations

import functools
import sys

import click


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
        except OSError as error:
            where = f" ({error.filename})" if error.filename and str(error.filename) not in str(error) else ""
            raise Failure(f"{error}{where}") from error
        except ValueError as error:
            raise Failure(str(error)) from error

    return wrapper
