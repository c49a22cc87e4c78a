"""The scheduler thread: sends MIDI messages at absolute deadlines and knows what is sounding.

Deadlines are absolute times (start + beats x seconds per beat, computed by the engine), so
nothing drifts. The loop sleeps until about a millisecond before the next deadline, spins the
rest, pops and sends; that is all it does. Every note it starts it also remembers, so any way
out (stop, cancel, a lost port) can release what sounds.

Each output it sends to has its own latency offset (a slow synth, a DAW track's monitoring): a
message goes to every output, to each that much before its deadline.
"""

from __future__ import annotations

import heapq
import itertools
import os
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import mido

from livegen.live.ports import panic_messages
from livegen.live.recorder import MODEL
from livegen.live.worker import Worker

NOTE_OFF_FIRST = 0  # at one deadline, releases go before new notes so a repeated pitch restarts
OTHER = 1
SWITCH_INTERVAL_S = 0.0005
REALTIME_PRIORITY = 20  # below JACK's own (typically 70+), above every ordinary process
THRU = -2  # the player's own notes passed through: sent, but not recorded as the model's


@dataclass(frozen=True)
class TimedNote:
    """A note in seconds on the engine's clock, ready to be scheduled."""

    start: float
    end: float
    pitch: int
    velocity: int
    channel: int = 0


@dataclass(order=True)
class _Event:
    deadline: float
    rank: int
    sequence: int
    message: mido.Message = field(compare=False)
    tag: int = field(compare=False)
    note: TimedNote | None = field(default=None, compare=False)  # the note a note-on or note-off belongs to
    output: int = field(default=0, compare=False)  # which of the scheduler's outputs it goes to


def _notes(sounding) -> list[tuple[int, int]]:
    """``(channel, pitch)`` of sounding ``(output, channel, pitch)`` entries, each once, in their order."""
    return list(dict.fromkeys((channel, pitch) for _, channel, pitch in sounding))


def _ask_for_realtime_priority() -> None:
    """Run this thread under SCHED_FIFO where the system allows it (Linux, audio group or root).

    The OS then wakes it on time even when other processes keep the cores busy; where it is
    not allowed, the thread keeps its ordinary priority.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
    except (AttributeError, OSError):
        pass


class Scheduler(Worker):
    """A heap of ``(deadline, message)``; ``pop_due`` is the pure part, ``run`` the thread."""

    def __init__(self, port, now=time.perf_counter, spin_seconds: float = 0.001,
                 on_error=None, recorder=None, keep_timings: int = 100_000, latency_offset: float = 0.0,
                 timing=None, also=()) -> None:
        # (port, seconds sent early) of each output: ``port`` first (the recording counts what it
        # is sent), then ``also``'s; the offsets are --out-latency-ms's or what calibrate measured.
        self.outputs = [(port, latency_offset), *also]
        self.timing = timing  # the session's TimingLog (--log-timing), or None
        self.recorder = recorder
        self.now = now
        self.spin_seconds = spin_seconds
        self.on_error = on_error
        self.lateness: deque[float] = deque(maxlen=keep_timings)
        self.sent: deque[tuple[float, mido.Message]] = deque(maxlen=keep_timings)
        self.channels_used: set[int] = set()
        self._heap: list[_Event] = []
        self._lock = threading.Lock()
        # Sends and the final panic take turns on the port; once closed, nothing more goes out,
        # so no note can start after the panic even if a thread outlives its join.
        self._send_lock = threading.Lock()
        self._closed = False
        self._wake = threading.Event()
        self._sequence = itertools.count()
        self._sounding: dict[tuple[int, int], int] = {}  # (channel, pitch) -> tag of the note
        super().__init__("livegen-scheduler")

    # -- called from other threads -------------------------------------------------------
    def play(self, notes, tag: int = 0) -> None:
        """Book each note's note-on at its start and its note-off at its end."""
        with self._lock:
            for note in notes:
                on = mido.Message("note_on", channel=note.channel, note=note.pitch, velocity=note.velocity)
                off = mido.Message("note_off", channel=note.channel, note=note.pitch, velocity=0)
                for output, (_, early) in enumerate(self.outputs):
                    self._push(note.start - early, OTHER, on, tag, note, output)
                    self._push(note.end - early, NOTE_OFF_FIRST, off, tag, note, output)
                self.channels_used.add(note.channel)
        self._wake.set()

    def send_at(self, timed_messages, tag: int = 0) -> None:
        """Book ``(deadline, message)`` pairs: clock pulses, transport, anything but notes."""
        with self._lock:
            for deadline, message in timed_messages:
                for output, (_, early) in enumerate(self.outputs):
                    self._push(deadline - early, OTHER, message, tag, output=output)
        self._wake.set()

    def send_soon(self, message: mido.Message, tag: int = THRU) -> None:
        """Send a message as soon as possible (the player's thru), in order with the rest."""
        with self._lock:
            now = self.now()
            for output in range(len(self.outputs)):
                self._push(now, OTHER, message, tag, output=output)
        self._wake.set()

    def connect_first(self, connect, messages, output: int = 0) -> bool:
        """Run ``connect`` (output ``output``'s port coming back) and, if it worked, send ``messages``
        there before any other message can go out; returns whether it connected."""
        port = self.outputs[output][0]
        with self._send_lock:
            if self._closed or not connect():
                return False
            for message in messages:
                port.send(message)
                sent_at = self.now()
                self.sent.append((sent_at, message))
                self._log_sent(sent_at, None, message, port)
                if self.recorder is not None and output == 0:
                    self.recorder.record(MODEL, sent_at, message)
        return True

    def cancel(self, tag: int) -> None:
        """Drop every pending message of ``tag`` and release its notes that are sounding now."""
        with self._lock:
            self._heap = [event for event in self._heap if event.tag != tag]
            heapq.heapify(self._heap)
            now = self.now()
            for (output, channel, pitch), owner in list(self._sounding.items()):
                if owner == tag:
                    off = mido.Message("note_off", channel=channel, note=pitch, velocity=0)
                    self._push(now, NOTE_OFF_FIRST, off, tag=-1, output=output)
        self._wake.set()

    def retract(self, tag: int, not_before: float) -> set[TimedNote]:
        """Take back the notes of ``tag`` that start at ``not_before`` or later and have not started.

        Both messages of such a note go; notes already sounding keep their note-offs. A note that has
        started on one output (sent earlier there by its offset) sounds everywhere. Returns the notes
        taken back, so the caller knows exactly which of its notes will still be heard.
        """
        with self._lock:
            waiting = Counter(event.note for event in self._heap
                              if event.tag == tag and event.note is not None and event.message.type == "note_on"
                              and event.note.start >= not_before)
            taken = {note for note, outputs in waiting.items() if outputs == len(self.outputs)}
            if taken:
                self._heap = [event for event in self._heap if event.note not in taken or event.tag != tag]
                heapq.heapify(self._heap)
        return taken

    def pending(self) -> int:
        with self._lock:
            return len(self._heap)

    def sounding(self) -> list[tuple[int, int]]:
        """``(channel, pitch)`` of every note this scheduler started and has not yet released (on any output)."""
        with self._lock:
            return _notes(self._sounding)

    # -- the pure part ---------------------------------------------------------------------
    def _push(self, deadline: float, rank: int, message: mido.Message, tag: int,
              note: TimedNote | None = None, output: int = 0) -> None:
        heapq.heappush(self._heap, _Event(deadline, rank, next(self._sequence), message, tag, note, output))

    def next_deadline(self) -> float | None:
        with self._lock:
            return self._heap[0].deadline if self._heap else None

    def pop_due(self, now: float) -> list[_Event]:
        """Events whose deadline has come, in order; the sounding-note table follows them."""
        due = []
        with self._lock:
            while self._heap and self._heap[0].deadline <= now:
                event = heapq.heappop(self._heap)
                self._track(event)
                due.append(event)
        return due

    def _track(self, event: _Event) -> None:
        message = event.message
        if message.type == "note_on" and message.velocity > 0:
            self._sounding[(event.output, message.channel, message.note)] = event.tag
        elif message.type in ("note_on", "note_off"):
            self._sounding.pop((event.output, message.channel, message.note), None)

    def send_due(self, now: float) -> int:
        """Send what is due at ``now``; returns how many were sent."""
        events = self.pop_due(now)
        for event in events:
            port = self.outputs[event.output][0]
            with self._send_lock:
                if self._closed:
                    return 0
                port.send(event.message)
            sent_at = self.now()
            self.lateness.append(sent_at - event.deadline)
            self.sent.append((sent_at, event.message))
            self._log_sent(sent_at, event.deadline, event.message, port)
            if self.recorder is not None and event.output == 0 and event.tag != THRU and \
                    not event.message.is_realtime:
                self.recorder.record(MODEL, sent_at, event.message)
        return len(events)

    def _log_sent(self, at: float, due: float | None, message: mido.Message, port) -> None:
        if self.timing is not None:
            self.timing.sent(at, due, port.name, message)

    # -- the thread ------------------------------------------------------------------------
    def start(self) -> None:
        # Pure-Python work on other threads (the engine) holds the GIL for up to the switch
        # interval (5 ms by default): shorten it so a due send waits at most ~0.5 ms for it.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        super().start()

    def run(self) -> None:
        """Sleep until just before the next deadline, spin to it, send; until stopped."""
        _ask_for_realtime_priority()
        try:
            while not self._stopping.is_set():
                deadline = self.next_deadline()
                if deadline is None:
                    self._wake.wait(0.05)
                    self._wake.clear()
                    continue
                wait = deadline - self.now()
                if wait > self.spin_seconds:
                    self._wake.wait(wait - self.spin_seconds)
                    self._wake.clear()
                    continue
                while self.now() < deadline:
                    pass
                self.send_due(self.now())
        except Exception as error:  # a lost port must not kill the session silently
            if self.on_error is None:
                raise
            self.on_error(error)

    def stop(self, panic: bool = True) -> list[tuple[int, int]]:
        """Stop the thread, drop what is pending, and release what sounds; returns what was released."""
        self._stopping.set()
        self._wake.set()
        self._join()
        with self._send_lock:
            self._closed = True
            with self._lock:
                self._heap.clear()
                sounding = list(self._sounding)
                self._sounding.clear()
            if panic:
                for output, (port, _) in enumerate(self.outputs):
                    released = [(channel, pitch) for where, channel, pitch in sounding if where == output]
                    for message in panic_messages(released, sorted(self.channels_used)):
                        port.send(message)
                        self._log_sent(self.now(), None, message, port)
                        if self.recorder is not None and output == 0:
                            self.recorder.record(MODEL, self.now(), message)
        return _notes(sounding)
