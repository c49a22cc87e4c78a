"""Ableton Link: the session's tempo, beat grid and bar line (and, with start/stop sync, its transport).

Link shares a tempo and a beat *phase* among peers on a network, with no master. This module
needs the ``link`` extra (``pip install 'livegen[link]'``: LinkPython-extern, which builds in
Ableton's Link library, GPL-2.0-or-later): a base install never imports it.

Roles: ``LinkWatcher`` is the one thread that talks to Link. Every ``REFRESH_S`` it captures the
session state and publishes a ``Timeline`` (one attribute, swapped whole); a change of the
session's transport goes to the engine's inbox as a ``TransportEvent``, in time order with the
player's notes. ``LinkClock`` is what the engine reads: beats and seconds on the latest
timeline, the clock interface ``InternalClock`` and ``ExternalClock`` have. The engine never waits
on Link.

Link's clock is the host's monotonic clock, as ``time.perf_counter`` is on Linux; the offset
between them is read at every refresh, so the two need not be the same clock.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import NamedTuple

from livegen.errors import LivegenError
from livegen.live.clock import LINK_START, LINK_STOP
from livegen.live.worker import Worker

REFRESH_S = 0.002  # the timeline is at most this old: a tempo change is followed within a few ms of it
CLOCK_PAIRS = 3
INSTALL_HINT = "pip install 'livegen[link]'"
TRANSPORT_EVENTS = frozenset({LINK_START, LINK_STOP})


class LinkError(LivegenError):
    """Link is not installed or cannot be joined; the message says what to do."""


def load_binding():
    """The Link binding (LinkPython-extern's ``link`` module), or LinkError saying how to get it."""
    try:
        import link
    except ImportError as error:
        raise LinkError(f"--link needs Ableton Link, which livegen keeps as an extra (GPL-2.0-or-later): "
                        f"{INSTALL_HINT} ({error})") from error
    return link


class TransportEvent(NamedTuple):
    """The Link session started or stopped playing (``type``: LINK_START or LINK_STOP), as an inbox item."""

    type: str


@dataclass(frozen=True)
class Timeline:
    """Beats against ``time.perf_counter`` seconds: beat = (t - intercept) / seconds_per_beat."""

    intercept: float
    seconds_per_beat: float
    playing: bool
    peers: int


class LinkClock:
    """The engine's clock on a Link session: read from the watcher's latest timeline, never from Link itself.

    Beat 0 is a bar line of the session (a multiple of the quantum in Link's beats): the one at or
    after the moment the session started playing (with start/stop sync), else at or before joining.
    """

    external = True

    def __init__(self, watcher: LinkWatcher) -> None:
        self.watcher = watcher  # publishes the timeline; the clock only reads it

    @property
    def seconds_per_beat(self) -> float:
        return self.watcher.timeline.seconds_per_beat

    @property
    def bpm(self) -> float:
        return 60.0 / self.watcher.timeline.seconds_per_beat

    @property
    def started(self) -> bool:
        return self.watcher.timeline.playing or not self.watcher.start_stop  # with sync: only while it plays

    def start(self, at: float) -> None:
        """Calls do not move the session's grid."""

    def hear(self, message, at: float) -> str | None:
        """The session's transport (from the watcher): 'start' or 'stop'; a MIDI clock on the ports is not ours."""
        if not self.watcher.start_stop or message.type not in TRANSPORT_EVENTS:
            return None
        return "start" if message.type == LINK_START else "stop"

    def beats_at(self, time_s: float) -> float:
        timeline = self.watcher.timeline
        return (time_s - timeline.intercept) / timeline.seconds_per_beat

    def time_of_beat(self, beat: float) -> float:
        timeline = self.watcher.timeline
        return timeline.intercept + beat * timeline.seconds_per_beat


class LinkWatcher(Worker):
    """Joins the Link session, proposes a tempo if told to, and publishes its ``timeline`` for ``clock``."""

    def __init__(self, binding, quantum: int, bpm: float, propose_tempo: bool, start_stop: bool, post,
                 perf_now=time.perf_counter) -> None:
        self.quantum = quantum  # beats to the bar: Link's phase runs over it
        self.start_stop = start_stop
        self.post = post  # puts (at, event) into the engine's inbox
        self.perf_now = perf_now
        self.link = binding.Link(bpm)
        self.link.startStopSyncEnabled = start_stop
        self.link.enabled = True
        if propose_tempo:
            state = self.link.captureAppSessionState()
            state.setTempo(bpm, self.link.clock().micros())
            self.link.commitAppSessionState(state)
        state, offset = self._capture()
        now = self.perf_now()
        self.origin = self._bar_line(state.beatAtTime(self._micros(now, offset), quantum), after=False)
        self.timeline = self._timeline(state, offset, now)
        self.clock = LinkClock(self)
        super().__init__("livegen-link")

    def _capture(self):
        """The session state, and Link's clock minus perf_counter in seconds: Link's read between two of
        ours, off by at most half the window; the narrowest of ``CLOCK_PAIRS`` windows is kept (a thread
        preempted between two reads widens one)."""
        state = self.link.captureAppSessionState()
        pairs = []
        for _ in range(CLOCK_PAIRS):
            before = self.perf_now()
            micros = self.link.clock().micros()
            after = self.perf_now()
            pairs.append((after - before, micros / 1e6 - (before + after) / 2))
        return state, min(pairs)[1]

    @staticmethod
    def _micros(at: float, offset: float) -> int:
        return round((at + offset) * 1e6)

    def _timeline(self, state, offset: float, now: float) -> Timeline:
        seconds_per_beat = 60.0 / state.tempo()
        beat = state.beatAtTime(self._micros(now, offset), self.quantum)
        return Timeline(now - (beat - self.origin) * seconds_per_beat, seconds_per_beat, state.isPlaying(),
                        self.link.numPeers())

    def _bar_line(self, beat: float, after: bool) -> float:
        """The session's bar line at or before ``beat`` (or at or after it), in Link's beats."""
        bars = beat / self.quantum
        return (math.ceil(bars - 1e-9) if after else math.floor(bars + 1e-9)) * self.quantum

    def refresh(self) -> None:
        """A fresh timeline; a change of the session's transport goes to the engine, at the time it happened."""
        state, offset = self._capture()
        playing, was_playing = state.isPlaying(), self.timeline.playing
        changed = self.start_stop and playing != was_playing
        if changed:
            at = state.timeForIsPlaying() / 1e6 - offset  # when the session started or stopped, on our clock
            if playing:  # bar 0 of a new piece: the session's bar line where it started (or the next)
                self.origin = self._bar_line(state.beatAtTime(state.timeForIsPlaying(), self.quantum), after=True)
        self.timeline = self._timeline(state, offset, self.perf_now())
        if changed:
            self.post((at, TransportEvent(LINK_START if playing else LINK_STOP)))

    def run(self) -> None:
        while not self._stopping.wait(REFRESH_S):
            self.refresh()

    def stop(self) -> None:
        super().stop()
        self.link.enabled = False

    def describe(self) -> str:
        """Tempo, peers and the phase in the bar, for the status line."""
        timeline = self.timeline
        phase = self.clock.beats_at(self.perf_now()) % self.quantum
        peers = timeline.peers
        return (f"Link {60.0 / timeline.seconds_per_beat:.1f} bpm {peers} peer{'' if peers == 1 else 's'} "
                f"phase {phase:.1f}/{self.quantum}")
