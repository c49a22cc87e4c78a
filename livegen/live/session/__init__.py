"""A live session: ports, the three threads, and every way out releasing what sounds.

- ``config``: ``PortsConfig``, where the player comes in and the answer goes out; ``SessionConfig``,
  what a session draws from and keeps.
- ``rig``: ``Session``, which opens the ports, runs the threads, supervises and closes.
- ``status``: the live status line the CLI prints.
"""

from livegen.live.session.config import LinkConfig, PortsConfig, SessionConfig
from livegen.live.session.rig import Session
from livegen.live.session.status import print_status, status_line

__all__ = ["LinkConfig", "PortsConfig", "Session", "SessionConfig", "print_status", "status_line"]
