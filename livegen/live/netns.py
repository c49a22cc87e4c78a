"""A network namespace of its own for an Ableton Link peer: Link discovers peers by UDP multicast on
every interface, so a peer that a test, a benchmark or a trial starts runs where only ``lo`` exists.

``command()`` wraps a command in ``unshare`` with a new network namespace (root: a plain one;
others: inside a user namespace that maps them to themselves and keeps the capability to bring
``lo`` up); inside it, ``enter()`` checks that only ``lo`` is there and brings it up, and refuses
anywhere else. Both peers of a trial run in one namespace: one starts the other as its child.
"""

from __future__ import annotations

import os
import socket
import subprocess


class NotPrivate(RuntimeError):
    """A Link peer was about to start on a network with other interfaces than ``lo``."""


def command(*argv: str) -> list[str]:
    """``argv`` in a new network namespace."""
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else \
        ["unshare", "--user", "--map-current-user", "--net", "--keep-caps"]
    return [*unshare, *argv]


def enter() -> None:
    """Bring ``lo`` up, if this process sees no other interface; else NotPrivate."""
    interfaces = sorted(name for _, name in socket.if_nameindex())
    if interfaces != ["lo"]:
        raise NotPrivate(f"refusing to start a Link peer on a network with {interfaces}: run it through "
                         "livegen.live.netns.command(), in a namespace of its own")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
