"""The live status line: one line of what the companion is doing, redrawn in place on a terminal."""

from __future__ import annotations

import sys
import time

from livegen.live.recorder import PLAYER
from livegen.live.session.rig import Session


def status_line(session: Session) -> str:
    """One line of what the companion is doing, for the live view."""
    if session.waiting_for:
        return "waiting for " + ", ".join(repr(port.name) for _, port in session.waiting_for) + " to come back"
    companion = session.companion
    clock = companion.clock
    if clock.started:
        beats = max(0.0, clock.beats_at(time.perf_counter()))
        bar, beat = divmod(int(beats), companion.config.beats_per_bar)
        where = f"bar {bar + 1}:{beat + 1}"
    else:
        where = "bar -:-"
    steps = companion.step_seconds[-200:]
    step_ms = f"{1000 * sorted(steps)[len(steps) // 2]:.3f} ms/step" if steps else "- ms/step"
    key = str(companion.key) if companion.key else "-"
    xruns = f"  JACK xruns {session.xruns.count}" if session.xruns is not None and session.xruns.count else ""
    link = f"  {session.link.describe()}" if session.link is not None else ""
    return (f"{companion.status:10s} {clock.bpm:5.1f} bpm  {where:9s}  key {key:9s}  "
            f"in {session.recorder.count(PLAYER):4d}  out {session.recorder.count('livegen'):4d} notes  {step_ms}"
            f"{xruns}{link}")


def print_status(session: Session) -> None:
    """Redraw the status line in place on a terminal."""
    sys.stderr.write("\r" + status_line(session)[:120] + "\x1b[K")
    sys.stderr.flush()
