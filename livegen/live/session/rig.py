"""The session's rig: opens the ports, runs the three threads, supervises, and leaves nothing sounding.

Roles, one thread each: a ``Listener`` per input port reads, stamps and enqueues; the engine's
``EngineThread`` runs the companion; the ``Scheduler`` sends. The main thread only supervises:
signals, the status line, and noticing ports that disappear.
"""

from __future__ import annotations

import functools
import gc
import queue
import signal
import threading
import time
from pathlib import Path

import mido

from livegen.errors import LivegenError
from livegen.live import calibrate, ports
from livegen.live.clock import ExternalClock
from livegen.live.engine import CHANNEL_MESSAGES, Companion, CompanionConfig, EngineThread
from livegen.live.listener import Listener
from livegen.live.ports.backend import JACK_API
from livegen.model import memory
from livegen.model.preset import Preset
from livegen.live.recorder import Recorder
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.live.scheduler import THRU, Scheduler
from livegen.live.session.config import PortsConfig, SessionConfig
from livegen.live.session.memory import SessionMemory
from livegen.live.timing import TimingLog
from livegen.music.key import transposes

PORT_CHECK_SECONDS = 1.0
DRAIN_SECONDS = 0.05


class Session:
    """Opens the ports, runs the threads until told to stop, then leaves nothing sounding."""

    def __init__(self, presets: tuple[Preset, ...], companion_config: CompanionConfig, sampling: SamplingConfig,
                 ports_config: PortsConfig, settings: SessionConfig = SessionConfig(), log=print) -> None:
        self.preset, *more = presets  # the first plays; the others wait for the preset knob, loaded and warmed up
        self.alternatives = tuple(more)
        self.companion_config = companion_config
        self.sampling = sampling
        self.ports_config = ports_config
        self.seed = settings.seed
        self.record_path = settings.record
        self.log = log
        self.out_latency_ms = dict(settings.out_latency_ms)  # output as named (None: --out's) -> ms sent early
        self.memory = None if settings.memory_path is None else \
            SessionMemory(settings.memory_path, memory.frame(transposes(self.preset.key_mode)), log)
        self.recorder = Recorder()
        self.timing_path = settings.timing_path
        self.timing = TimingLog() if settings.timing_path is not None else None
        self.reason: str | None = None
        self.bug: Exception | None = None  # what killed a thread, when it was no user's problem
        self.failed = False
        self._stop = threading.Event()
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.input_port = None
        self.clock_port = None
        self.listeners: list[Listener] = []
        self.waiting_for: list[tuple[str, object]] = []  # (kind, port) lost, with --reconnect
        self.output_ports: list = []  # each port the answer goes to: --out's, then each --also-out's
        self.thru_port = None
        self.thru_scheduler: Scheduler | None = None  # sends and tracks the player's notes on thru_port
        self.scheduler: Scheduler | None = None
        self.engine: EngineThread | None = None
        self.companion: Companion | None = None
        self.ready_at: float | None = None
        self.xruns = None  # on JACK: the xruns the server reports, for the status line
        self.link_config = settings.link
        self.link = None  # with --link: the thread that follows the Link session (livegen.live.link)

    def request_stop(self, reason: str, failed: bool = False) -> None:
        """Ask the session to end; the first reason given is the one reported."""
        if self.reason is None:
            self.reason = reason
            self.failed = failed
        self._stop.set()

    def _program_messages(self) -> list[mido.Message]:
        if self.ports_config.program is None:
            return []
        return [mido.Message("program_change", channel=self.companion_config.out_channel,
                             program=self.ports_config.program)]

    def _send_program(self) -> None:
        for message in self._program_messages():
            self.scheduler.send_soon(message, tag=0)

    def _enqueue(self, at: float, message, port_name: str) -> None:
        """What a listener heard: queued for the engine, and the player's notes passed on at once
        with ``--thru`` (from the listener's thread, so no work on the engine can delay them)."""
        self.inbox.put((at, message))
        if self.timing is not None:
            self.timing.heard(at, port_name, message)
        if message.type in CHANNEL_MESSAGES:
            if self.thru_scheduler is not None:
                self.thru_scheduler.send_soon(message)
            elif self.ports_config.thru:
                self.scheduler.send_soon(message)

    def _thread_failed(self, error: Exception) -> None:
        """A thread died: a lost port or a full disk is the player's to fix; anything else is a bug,
        kept (with its traceback) for the command line to report."""
        if isinstance(error, (LivegenError, OSError)):
            self.request_stop(f"stopped: {type(error).__name__}: {error}", failed=True)
            return
        self.bug = error
        self.request_stop(f"stopped: a bug in livegen's {threading.current_thread().name} thread", failed=True)

    def open(self) -> None:
        """Choose the backend, join Link if asked, load the model, open the ports and start the threads."""
        binding = None
        if self.link_config is not None:
            from livegen.live.link import load_binding  # only with --link: a base install has no Link

            binding = load_binding()
        choice = ports.select_backend(self.ports_config.backend)
        if choice.note:
            self.log(choice.note)
        if choice.name.endswith("/" + JACK_API):
            from livegen.live.jackprobe import XrunReader  # its watcher runs in a process of its own

            self.xruns = XrunReader()
        if binding is not None:
            self.link = self._join_link(binding)
        models = self._load_models()
        remembered = self.memory.recall() if self.memory is not None else None
        self._open_outputs()
        self.companion = Companion(models[0], Sampler(self.sampling, seed=self.seed), self.scheduler,
                                   self.companion_config, self._clock(), models, remembered)
        self.engine = EngineThread(self.companion, self.inbox, self.recorder, self._thread_failed)
        self._open_inputs()
        self._start_threads()

    def _load_models(self) -> tuple[StepModel, ...]:
        """The preset and the alternatives the preset knob chooses among, warmed up."""
        models = tuple(StepModel(preset.weights) for preset in (self.preset, *self.alternatives))
        for model in models:
            model.warm_up()
        return models

    def _open_outputs(self) -> None:
        """The answer's ports and their scheduler (sending early by the calibrated offset), and the thru port."""
        create = self.ports_config.create
        self.output_ports = [ports.open_output(self.ports_config.output_name, virtual=self.ports_config.virtual,
                                               create=create)]
        for name in self.ports_config.more_outputs:
            self.output_ports.append(ports.open_output(name, create=create))
        given = (None, *self.ports_config.more_outputs)
        early = [self._latency_offset_ms(name, port) / 1000 for name, port in zip(given, self.output_ports)]
        self.scheduler = Scheduler(self.output_ports[0], on_error=self._thread_failed, recorder=self.recorder,
                                   latency_offset=early[0], timing=self.timing,
                                   also=tuple(zip(self.output_ports[1:], early[1:])))
        self._send_program()
        if self.ports_config.thru_to is not None:
            self.thru_port = ports.open_output(self.ports_config.thru_to, create=create)
            self.thru_scheduler = Scheduler(self.thru_port, on_error=self._thread_failed, timing=self.timing)

    def _latency_offset_ms(self, given_name: str | None, port) -> float:
        """How early to send to an output (named as the player gave it; None: --out): as given with
        --out-latency-ms, or the round trip 'livegen calibrate' measured for it (0 if none)."""
        if given_name in self.out_latency_ms:
            return self.out_latency_ms[given_name]
        offset_ms = calibrate.offset_for(port.name) or 0.0
        if offset_ms:
            self.log(f"sending {offset_ms:g} ms early to {port.name!r}: the round trip 'livegen calibrate' "
                     "measured for it")
        return offset_ms

    def _clock(self):
        """The Link session's or the DAW's clock when one is followed; None: the companion keeps its own."""
        if self.link is not None:
            return self.link.clock
        return ExternalClock(self.companion_config.bpm) if self.ports_config.clock_name else None

    def _join_link(self, binding):
        """Join the Link session: its bar is this session's bar, its beats the grid's."""
        from livegen.live.link import LinkWatcher

        config = self.companion_config
        watcher = LinkWatcher(binding, config.beats_per_bar, config.bpm, self.link_config.propose_tempo,
                              self.link_config.start_stop, self.inbox.put)
        self.log(f"joined Ableton Link: {watcher.describe()}"
                 + ("; playing when the session plays" if self.link_config.start_stop else ""))
        return watcher

    def _open_inputs(self) -> None:
        """The player's port, the clock's own port if it has one, and a listener on each."""
        create = self.ports_config.create
        self.input_port = ports.open_input(self.ports_config.input_name, virtual=self.ports_config.virtual,
                                           create=create)
        clock_name = self.ports_config.clock_name
        if clock_name not in (None, "in"):
            self.clock_port = ports.open_input(clock_name, create=create)
        self.listeners = [Listener(port, functools.partial(self._enqueue, port_name=port.name))
                          for port in (self.input_port, self.clock_port) if port is not None]

    def _start_threads(self) -> None:
        """Start every thread, once every port is open.

        Opening a JACK port takes ~100 ms of the interpreter, which would make the first clock
        pulses and notes late. What is loaded by now lives as long as the session: frozen out of
        the garbage collector, a full collection later walks only what the session makes (it
        walked all ~28,000 objects, 4-12 ms with the GIL held, during which no note could be sent).
        """
        gc.collect()
        gc.freeze()
        self.scheduler.start()
        if self.thru_scheduler is not None:
            self.thru_scheduler.start()
        if self.link is not None:
            self.link.start()
        self.engine.start()
        for listener in self.listeners:
            listener.start()
        self.ready_at = time.perf_counter()

    def run(self, duration: float | None = None, on_status=None) -> None:
        """Supervise until a stop is requested (signal, error, lost port) or ``duration`` passes.

        Ctrl-C and SIGTERM only note the request, and the loop acts on it within 0.2 s. A signal
        handler runs between two bytecodes of this thread, possibly inside ``Event.wait`` with the
        event's lock held, and a ``KeyboardInterrupt`` can leave that lock held: stopping from
        there (``request_stop`` sets the event, which takes the lock) could wait for ever.
        """
        signalled: list[str] = []

        def note(signum, _frame) -> None:
            signalled.append("stopped by Ctrl-C" if signum == signal.SIGINT else "stopped by SIGTERM")

        previous = {signum: signal.signal(signum, note) for signum in (signal.SIGINT, signal.SIGTERM)}
        watched = self._watched_ports()
        deadline = None if duration is None else time.perf_counter() + duration
        next_check = time.perf_counter() + PORT_CHECK_SECONDS
        try:
            while not self._stop.wait(0.2):
                if signalled:
                    self.request_stop(signalled[0])
                    break
                now = time.perf_counter()
                if on_status is not None:
                    on_status(self)
                if deadline is not None and now >= deadline:
                    self.request_stop(f"stopped after {duration:g} s")
                if now >= next_check:
                    self._check_ports(watched)
                    next_check = now + PORT_CHECK_SECONDS
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _watched_ports(self) -> list[tuple[str, object]]:
        """Ports we connected to (not our own virtual ones), which can vanish under us."""
        watched = []
        for kind, port in (("input", self.input_port), ("input", self.clock_port), ("output", self.thru_port),
                           *(("output", port) for port in self.output_ports)):
            if port is not None and not getattr(port, "is_virtual", False):
                watched.append((kind, port))
        return watched

    def _check_ports(self, watched) -> None:
        for kind, port in watched:
            if (kind, port) in self.waiting_for:
                self._try_reconnect(kind, port)
            elif not ports.still_there(port, kind):
                self._lost(kind, port)

    def _lost(self, kind: str, port) -> None:
        """A port's device is gone: let go of what it was holding, then end the session or wait for it."""
        if port is self.input_port:
            # Its note-offs will never come: the keyboard's own panic releases the held keys
            # (which would hold the phrase open) and what --thru passed on to the synth.
            channel = self.companion_config.in_channel or 0
            # Into the engine only: passed on, it would also cut the model's notes on that channel.
            self.inbox.put((time.perf_counter(), mido.Message("control_change", channel=channel, control=123)))
            for scheduler in (self.scheduler, self.thru_scheduler):
                if scheduler is not None:
                    scheduler.cancel(THRU)
        if not self.ports_config.reconnect:
            self.request_stop(f"stopped: the MIDI {kind} {port.name!r} disappeared", failed=True)
            return
        self.waiting_for.append((kind, port))
        self.log(f"the MIDI {kind} {port.name!r} disappeared; waiting for it to come back (Ctrl-C to stop)")

    def _try_reconnect(self, kind: str, port) -> None:
        if port in self.output_ports:
            # A synth that restarted has forgotten its program: it goes first, before any note
            # of the answer under way can reach it.
            back = self.scheduler.connect_first(lambda: ports.reconnect(port), self._program_messages(),
                                                self.output_ports.index(port))
        else:
            back = ports.reconnect(port)
        if back:
            self.waiting_for.remove((kind, port))
            self.log(f"the MIDI {kind} {port.name!r} is back: carrying on")

    def close(self) -> list[str]:
        """Stop threads, silence the output, close ports, write the recording; returns problems met."""
        problems = []
        for step in (self._close_input, self._stop_engine, self._stop_scheduler, self._close_output,
                     self._write_recording, self._write_timing, self._save_memory, self._stop_watching):
            try:
                step()
            except Exception as error:  # every later step must still run
                problems.append(f"{step.__name__.strip('_').replace('_', ' ')}: {error}")
        gc.unfreeze()  # the session's objects may go now (a demo or a bench opens several in one process)
        return problems

    def _stop_engine(self) -> None:
        if self.engine is not None:
            self.engine.stop()

    def _close_input(self) -> None:
        """Stop listening first: the engine then drains all that was heard into the recording."""
        for listener in self.listeners:
            listener.stop()
        for port in (self.input_port, self.clock_port):
            if port is not None:
                port.close()

    def _stop_scheduler(self) -> None:
        if self.thru_scheduler is not None:
            self.thru_scheduler.stop(panic=True)  # a key held as the session ends is released there too
        if self.scheduler is not None:
            self.scheduler.stop(panic=True)
            if self.companion_config.send_clock:
                stop = mido.Message("stop")  # the DAW's transport stops with us
                for port in self.output_ports:
                    port.send(stop)
                    if self.timing is not None:
                        self.timing.sent(time.perf_counter(), None, port.name, stop)

    def _close_output(self) -> None:
        if self.output_ports:
            time.sleep(DRAIN_SECONDS)  # JACK delivers at the next period: let the panic get out first
        for port in self.output_ports:
            port.close()
        if self.thru_port is not None:
            self.thru_port.close()

    def _write_recording(self) -> None:
        if self.record_path is not None:
            bpm = self.companion.clock.bpm if self.companion is not None else self.companion_config.bpm
            count = self.recorder.write(self.record_path, bpm)
            self.log(f"recorded {count} messages to {self.record_path}")

    def _write_timing(self) -> None:
        if self.timing is not None:
            count = self.timing.write(self.timing_path)
            self.log(f"logged the times of {count} messages to {self.timing_path}")

    def _stop_watching(self) -> None:
        if self.link is not None:
            self.link.stop()
        if self.xruns is not None:
            self.xruns.close()

    def _save_memory(self) -> None:
        """What the session learned of the player, into the memory file (the engine has stopped by now)."""
        if self.memory is not None and self.companion is not None:
            self.memory.keep(self.companion.adaptation.model)
