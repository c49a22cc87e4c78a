"""A live session: ports, the three threads, and every way out releasing what sounds.

- ``config``: ``PortsConfig``, where the player comes in and the answer goes out.
- ``rig``: ``Session``, which opens the ports, runs the threads, supervises and closes.
- ``status``: the live status line the CLI prints.
"""

from livegen.live.session.config import PortsConfig
from livegen.live.session.rig import Session
from livegen.live.session.status import print_status, status_line

__all__ = ["PortsConfig", "Session", "print_status", "status_line"]
