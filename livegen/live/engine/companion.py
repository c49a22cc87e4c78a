"""The companion: a thin dispatcher that hands each message and each tick to the engine's parts in order."""

from __future__ import annotations

import dataclasses
import time
from collections import deque

from livegen.live.clock import LINK_START, LINK_STOP, SLOWEST_AUTO_BPM, InternalClock, estimate_tempo
from livegen.live.engine.accompany import Accompanying
from livegen.live.engine.adaptation import Adaptation
from livegen.live.engine.answer import Answering, AnswerPlan
from livegen.live.engine.config import CompanionConfig
from livegen.live.engine.controls import Controls
from livegen.live.engine.fork import Fork, Lookahead
from livegen.live.engine.grid import Grid, Pulses
from livegen.live.engine.performance import HeardNote, Performance
from livegen.live.engine.priming import Priming
from livegen.live.engine.seed import SeedBuffer, Tuning
from livegen.music.dynamics import Dynamics
from livegen.music.key import Key
from livegen.model.session_model import SessionModel
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler

LISTENING = "listening"
PLAYING = "playing"
ANSWERING = "answering"
ACCOMPANYING = "accompanying"
PAUSED = "paused"
SUSTAIN = 64
CLOCK_MESSAGES = frozenset({"clock", "start", "continue", "stop", "songpos", LINK_START, LINK_STOP})
ALL_NOTES_OFF_CONTROLS = (120, 123)  # all sound off, all notes off: a keyboard's panic
REPORTS_KEPT = 1000


class Companion:
    """Call-and-response logic; output goes to a sink with ``play(notes, tag)`` and ``cancel(tag)``."""

    def __init__(self, model: StepModel, sampler: Sampler, sink, config: CompanionConfig = CompanionConfig(),
                 clock: InternalClock | None = None, models: tuple[StepModel, ...] = (),
                 memory: SessionModel | None = None) -> None:
        self.config = config
        self.models = models or (model,)  # the presets the preset knob chooses among
        self.sampler = sampler
        self.clock = clock or InternalClock(config.bpm)
        self.grid = Grid(self.clock, config.beats_per_bar, config.start_on, config.lookahead_beats)
        self.pulses = Pulses(self.grid, sink, config.send_clock, config.metronome_channel, config.click_bars,
                             config.lookahead_beats)
        self.performance = Performance(self.grid)
        self.seed = seed = SeedBuffer(self.grid)
        self.tuning = Tuning(sampler, config.key_lock, seed)
        self.adaptation = Adaptation(config.adapt, memory)  # what it learns of the player (``memory``: from before)
        self.priming = Priming(model, self.grid, seed, self.tuning, config.seed_bars, config.key_mode,
                               self.adaptation)
        self.dynamics = Dynamics(config.follow_dynamics)
        lookahead = Lookahead(self.priming, self.tuning, self.adaptation, sink, self.grid, config.out_channel,
                              self.dynamics, self.performance)
        # Reports of recent answers; bounded, so a session of hours keeps a flat memory.
        self.answered: deque[AnswerPlan] = deque(maxlen=REPORTS_KEPT)
        self.readiness: deque[float] = deque(maxlen=REPORTS_KEPT)  # phrase end -> first answer note, s
        self.replans: deque[float] = deque(maxlen=REPORTS_KEPT)  # accompany: a player's note -> plan sampled again, s
        self.answering = Answering(self.priming, seed, lookahead, sink, config.max_answer_bars, self.tuning.closes,
                                   self.answered, self.readiness)
        self.accompaniment = Accompanying(self.performance, self.priming, seed, lookahead, sink, config.rest_bars,
                                          self.replans)
        self.controls = Controls(config.knobs, config.learn)
        self.on_learned = None  # called with (knob name, controller, knobs still to learn)
        self.answers_started = 0
        self.phrase_ended_at: float | None = None
        self.tempo_known = not config.auto_tempo
        self.perf_now = time.perf_counter

    # -- what the session and the reports read -------------------------------------------------
    @property
    def status(self) -> str:
        if self.accompaniment.fork is not None:
            return ACCOMPANYING
        if self.answering.fork is not None:
            return ANSWERING
        if not self.config.active:
            return PAUSED
        return PLAYING if self.performance.call else LISTENING

    @property
    def answer(self) -> Fork | None:
        return self.answering.fork

    @property
    def key(self) -> Key | None:
        return self.priming.key

    @property
    def history(self) -> list[HeardNote]:
        return self.seed.notes

    @property
    def step_seconds(self) -> list[float]:
        return self.priming.step_seconds

    @property
    def knobs(self) -> dict[int, str]:
        return self.controls.knobs

    def reprime(self, now: float) -> None:
        """Rebuild the model state from the seed buffer."""
        self.priming.reprime(now)

    # -- input ---------------------------------------------------------------------------------
    def hear(self, message, at: float) -> None:
        """Take one message from the player (or the clock), stamped ``at`` (seconds) by the listener."""
        if message.type in CLOCK_MESSAGES:
            if self.clock.external:
                self._transport(self.clock.hear(message, at), at)
            return
        if getattr(message, "channel", None) is None:
            return
        if self.clock.external and not self.clock.started:
            return  # the DAW's transport is not rolling: there is no bar to put notes in
        if self.config.in_channel is not None and message.channel != self.config.in_channel:
            return
        if message.type == "note_on" and message.velocity > 0:
            self._key_down(message.note, message.velocity, at)
        elif message.type in ("note_off", "note_on"):
            self.performance.key_up(message.note, at)
        elif message.type == "control_change":
            self._control(message.control, message.value, at)

    def _key_down(self, pitch: int, velocity: int, at: float) -> None:
        if self.answering.fork is not None and self.config.yield_to_player:
            self.answering.end(at, interrupted=True)
        if not self.performance.call and self.answering.fork is None and self.accompaniment.fork is None:
            self._begin_call(at)
        if self.accompaniment.fork is not None:
            self.accompaniment.player_moved()
        self.performance.key_down(pitch, velocity, at)
        self.phrase_ended_at = None

    def _begin_call(self, at: float) -> None:
        if self.pulses.set_the_grid or self.clock.external:
            return  # the click, our clock or the DAW's clock sets the grid and the player follows it
        self.grid.anchor(at)
        self.priming.reprime(at)

    def _control(self, control: int, value: int, at: float) -> None:
        if control == SUSTAIN:
            self.performance.pedal(value >= 64, at)
        elif control in ALL_NOTES_OFF_CONTROLS:
            self.performance.release_all(at)  # clears keys whose note-off was lost on the way, which held the phrase open
        elif control == self.config.end_phrase_cc and value >= 64 and self.performance.call:
            self.performance.release_all(at)
            self._phrase_end(at)
        elif self.controls.learning:
            learned = self.controls.learn(control)
            if learned is not None and self.on_learned is not None:
                self.on_learned(*learned)
        elif control in self.controls.knobs:
            self._turn(control, value, at)

    def _turn(self, control: int, cc_value: int, at: float) -> None:
        """Apply a knob at once: sampling settings from the next token, the others to what is under way."""
        knob, value = self.controls.turn(control, cc_value)
        if knob.target == "preset":
            self._use_model(min(len(self.models) - 1, cc_value * len(self.models) // 128), at)
        elif knob.target == "memory":
            if value:
                self.adaptation.forget()
        elif knob.target == "sampling":
            self.tuning.turn(knob, value)
            self.priming.retune()
        else:
            self.config = dataclasses.replace(self.config, **{knob.field: value})
            self._follow_setting(knob.field, value, at)

    def _follow_setting(self, field: str, value, at: float) -> None:
        """A companion setting changed: what is under way follows it."""
        if field in ("mode", "active"):
            if self.accompaniment.fork is not None and (not self.config.active or self.config.mode != "accompany"):
                self.accompaniment.end(at, interrupted=True)
            if self.answering.fork is not None and not self.config.active:
                self.answering.end(at, interrupted=True)
        elif field == "key_lock":
            self.tuning.lock_key(value)
            self.priming.retune()  # the very next notes already obey it
        elif field == "answer_bars" and self.answering.fork is not None:
            self.answering.resize(value, at)
        elif field == "follow_dynamics":
            self.dynamics.set_follow(value)
        elif field == "adapt":
            self.adaptation.set_adapt(value)

    def _use_model(self, index: int, at: float) -> None:
        """The preset knob: another model from now on, primed with what was played."""
        self.controls.values["preset"] = index
        if self.models[index] is self.priming.model:
            return
        if self.answering.fork is not None:
            self.answering.end(at, interrupted=True)  # its state belongs to the other model
        self.priming.use_model(self.models[index], at)  # an accompaniment re-forks from the new state on its next tick

    def _transport(self, event: str | None, at: float) -> None:
        """The DAW's start, continue or stop: a stop silences the model at once."""
        if event is None:
            return
        if self.answering.fork is not None:
            self.answering.end(at, interrupted=True)
        if self.accompaniment.fork is not None:
            self.accompaniment.end(at, interrupted=True)
        self.performance.clear()
        if event != "stop":
            self.priming.restart()

    # -- time ------------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Advance to ``now``: encode finished notes, end the phrase, sample the answer ahead."""
        if self.pulses.set_the_grid and self.pulses.book(now):
            self.priming.reprime(now)  # the clock has just started: the state's bars are its bars
        if self.config.mode == "accompany":
            self._accompany(now)
        elif self.performance.call:
            self._listen(now)
        if self.answering.fork is not None:
            self.answering.sample(now)
            if self.answering.over(now):
                self.answering.end(now, interrupted=False)

    def _listen(self, now: float) -> None:
        """Answer mode during a call: encode what is finished, and end the phrase after its silence."""
        self._encode_ready(now)
        # Until the first phrase gives the tempo, wait as for the slowest pulse we would find.
        beat = self.clock.seconds_per_beat if self.tempo_known else 60.0 / SLOWEST_AUTO_BPM
        if self.performance.silent(now, self.config.phrase_end_beats * beat):
            self._phrase_end(now)

    def _accompany(self, now: float) -> None:
        """Accompany mode: the player's first note starts the accompaniment, which then runs on."""
        if self.accompaniment.fork is None:
            if not self.performance.call:
                return
            if not self.config.active:
                self._encode_ready(now)
                self.performance.keep_held_in_call()
                return
            self.answers_started += 1
            self.accompaniment.start(self.answers_started, now)
        self.accompaniment.tick(now)

    def _encode_ready(self, now: float) -> None:
        """Encode waiting notes in onset order once complete and once no earlier onset can come."""
        for note in self.performance.take_ready(now):
            self.priming.encode_player_note(note, now)

    def _phrase_end(self, now: float) -> None:
        phrase_end_wall = self.perf_now()
        self.performance.finish(now)
        if not self.tempo_known:
            self._settle_tempo(now)
        if not self.config.active:
            self._encode_ready(now)
            self.performance.take_call()
            return
        for note in self.performance.take_waiting():
            self.priming.encode_player_note(note, now)
        self.priming.check_key(now)  # the answer is in the key of the whole call
        call = self.performance.take_call()
        self.phrase_ended_at = now
        self.answers_started += 1
        self.answering.start(self.answers_started, call, self.config.answer_bars, now, phrase_end_wall)

    def _settle_tempo(self, now: float) -> None:
        """--bpm auto: the first phrase's pulse becomes the tempo; notes so far are re-read on it."""
        bpm = estimate_tempo([note.start for note in self.performance.call])
        if bpm is not None:
            self.clock.set_tempo(bpm)
        self.tempo_known = True
        self.priming.reprime(now)
