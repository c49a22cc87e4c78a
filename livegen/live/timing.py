"""The session's timing log: every message heard and sent, on the session's clock, for ``--log-timing``.

What a DAW user sends with a timing complaint, and what the real-port tests judge livegen by: a
host that runs JACK's cycles late (xruns, a paused virtual CPU) moves what a foreign client hears,
not what livegen heard, planned and sent. Times are ``time.perf_counter()`` seconds (the system's
monotonic clock on Linux, so other processes can compare theirs with them); a sent message also
carries the deadline the plan gave it. Appending is the only work on the live threads.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import NamedTuple

from livegen.atomic import write_atomically

LIMIT = 1_000_000  # messages kept per direction: about 15 minutes of a 1,000-message/s flood


class Heard(NamedTuple):
    at: float
    port: str
    data: tuple[int, ...]


class Sent(NamedTuple):
    at: float
    due: float | None  # None: sent at once (a panic, a program change on reconnect)
    port: str
    data: tuple[int, ...]


class TimingLog:
    """Appended to from the listener and scheduler threads (a deque's append is atomic)."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.heard_messages: deque[Heard] = deque(maxlen=limit)
        self.sent_messages: deque[Sent] = deque(maxlen=limit)

    def heard(self, at: float, port: str, message) -> None:
        self.heard_messages.append(Heard(at, port, tuple(message.bytes())))

    def sent(self, at: float, due: float | None, port: str, message) -> None:
        self.sent_messages.append(Sent(at, due, port, tuple(message.bytes())))

    def write(self, path: Path) -> int:
        """Write every entry as a JSON line, heard and sent in time order; returns how many."""
        entries = [{"heard": h.at, "port": h.port, "data": list(h.data)} for h in list(self.heard_messages)]
        entries += [{"sent": s.at, "due": s.due, "port": s.port, "data": list(s.data)}
                    for s in list(self.sent_messages)]
        entries.sort(key=lambda entry: entry.get("heard", entry.get("sent")))
        text = "".join(json.dumps(entry) + "\n" for entry in entries)
        write_atomically(Path(path), lambda stream: stream.write(text.encode("utf-8")))
        return len(entries)


def read(path: Path) -> tuple[list[Heard], list[Sent]]:
    """The heard and sent messages of a timing log, each in time order."""
    heard, sent = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if "heard" in entry:
            heard.append(Heard(entry["heard"], entry["port"], tuple(entry["data"])))
        else:
            sent.append(Sent(entry["sent"], entry["due"], entry["port"], tuple(entry["data"])))
    return heard, sent
