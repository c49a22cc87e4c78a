"""livegen's error family, and where a bug's traceback is kept.

A ``LivegenError`` is a problem the user can fix (a corrupt file, a missing port, a wrong setting):
the command line prints its message as one line. Anything else that escapes is a bug: its
traceback goes to a log file whose path is printed (``--debug`` shows it on the terminal too).
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

from livegen.atomic import write_atomically


class LivegenError(Exception):
    """A problem the user can fix; its message says what is wrong and what to do."""


class SettingError(LivegenError, ValueError):
    """A setting out of its range or one livegen does not know (an option, a knob, a settings file)."""


def log_folder() -> Path:
    """Where bug reports go: ``$XDG_STATE_HOME/livegen`` (``~/.local/state/livegen`` by default)."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "livegen"


def write_bug_report(error: BaseException, what: str) -> Path:
    """Keep ``error``'s traceback, with what livegen was doing, in a new log file; returns its path."""
    folder = log_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bug-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    text = f"livegen {what}\n\n" + "".join(traceback.format_exception(type(error), error, error.__traceback__))
    write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))
    return path


def describe(error: BaseException) -> str:
    """A bug in a few words: its type and message."""
    return f"{type(error).__name__}: {error}"
