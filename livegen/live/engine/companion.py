"""The engine: hears the player note by note, keeps the model primed, and answers on the beat.

``Companion`` is the logic, driven by ``hear(message, time)`` and ``tick(time)`` with times in
seconds, so tests run it on a fake clock. ``EngineThread`` drives it from the listener's queue.
It answers phrases (this module) or plays along with them (``--mode accompany``:
:mod:`livegen.live.accompany`).

Streaming priming: each player note is encoded as soon as it is complete (key released), in onset
order, so when the phrase ends the model state is already primed and the answer costs only its
own sampling steps. The state is rebuilt from a rolling seed buffer (the last bars of player
and model notes) when the call's key estimate changes, after every answer, and when a new
call moves the downbeat; that also keeps the LSTM within the lengths it was trained on.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque

import mido
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from livegen.music import codec
from livegen.live.accompany import AccompanyMixin, Stream
from livegen.live.clock import CLOCKS_PER_BEAT, SLOWEST_AUTO_BPM, InternalClock, estimate_tempo
from livegen.music.key import KEY_MODES, Key, bar_token, estimate_key, transposes
from livegen.live.knobs import KNOBS
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler
from livegen.live.scheduler import TimedNote

LISTENING = "listening"
PLAYING = "playing"
ANSWERING = "answering"
ACCOMPANYING = "accompanying"
PAUSED = "paused"
MODES = ("answer", "accompany")
SUSTAIN = 64
CLOCK_MESSAGES = frozenset({"clock", "start", "continue", "stop", "songpos"})
METRONOME_TAG = -3
CLICK_PITCHES = (76, 77)  # General MIDI high and low wood block: downbeat, other beats
CLICK_SECONDS = 0.05
ALL_NOTES_OFF_CONTROLS = (120, 123)  # all sound off, all notes off: a keyboard's panic
REPORTS_KEPT = 1000
MAX_HISTORY_NOTES = 256  # the seed buffer's bound: 8 dense bars; a flood of notes must not grow it
KEY_CHECK_BEATS = 0.5  # re-estimate the key at most this often while notes pour in (and at phrase end)
# A re-prime reads at most the seed buffer's last tokens (a dense bar, a few sparse ones), so it
# stays well under 10 ms however dense the bars, even on a busy machine. On held-out chorales
# the next bar's loss after these 64 tokens is that after all 8 bars (~530 tokens): -0.0030 +-
# 0.0013 nats/token (96: -0.0012, 32: +0.0033, 16: +0.065, no priming: +0.12); the model's
# memory is short (scripts/reprime_window_loss.py).
REPRIME_TOKENS = 64


@dataclass(frozen=True)
class CompanionConfig:
    """How the companion listens and answers, in musical units."""

    bpm: float = 120.0
    beats_per_bar: int = 4
    phrase_end_beats: float = 1.0
    answer_bars: int | None = None  # None: as long as the call
    max_answer_bars: int = 8
    start_on: str = "beat"
    yield_to_player: bool = True
    seed_bars: int = 8
    lookahead_beats: float = 1.0
    end_phrase_cc: int | None = None
    in_channel: int | None = None
    out_channel: int = 0
    key_mode: str = "canonical"
    key_lock: bool = False
    metronome_channel: int | None = None  # a click on this channel: then it, not the player, sets the grid
    click_bars: int | None = None  # the click stops after this many bars (a count-in); None: it goes on
    send_clock: bool = False  # be the MIDI clock master (24 PPQN from the session's start): sets the grid too
    auto_tempo: bool = False  # take the tempo from the first phrase (``bpm`` until then, and if it cannot)
    knobs: tuple[tuple[int, str], ...] = ()  # (controller, knob name) pairs, see livegen.live.knobs
    learn: tuple[str, ...] = ()  # knobs to bind by MIDI learn, in this order
    mode: str = "answer"  # "answer": call and response; "accompany": play along while the player plays
    rest_bars: int = 2  # accompany: after this many bars of the player's silence, finish the bar and rest
    active: bool = True  # False: listen and follow, but play nothing (the play/stop knob)

    def __post_init__(self) -> None:
        if not 20 <= self.bpm <= 400:
            raise ValueError(f"tempo must be between 20 and 400 bpm, got {self.bpm}")
        if not 1 <= self.beats_per_bar <= codec.MAX_BAR_TICKS // codec.TICKS_PER_BEAT:
            raise ValueError(f"beats per bar must be between 1 and 8, got {self.beats_per_bar}")
        if not 0.25 <= self.phrase_end_beats <= 16:
            raise ValueError(f"phrase end must be between 0.25 and 16 beats of silence, got {self.phrase_end_beats}")
        if self.answer_bars is not None and not 1 <= self.answer_bars <= 64:
            raise ValueError(f"answer length must be between 1 and 64 bars, got {self.answer_bars}")
        if not 1 <= self.max_answer_bars <= 64:
            raise ValueError(f"longest answer must be between 1 and 64 bars, got {self.max_answer_bars}")
        if self.start_on not in ("beat", "bar"):
            raise ValueError(f"the answer starts on the next 'beat' or 'bar', got {self.start_on!r}")
        if not 1 <= self.seed_bars <= 32:
            raise ValueError(f"seed buffer must hold 1 to 32 bars, got {self.seed_bars}")
        if not 0.25 <= self.lookahead_beats <= 8:
            raise ValueError(f"lookahead must be 0.25 to 8 beats, got {self.lookahead_beats}")
        for name in ("in_channel", "out_channel", "metronome_channel"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 15:
                raise ValueError(f"{name.replace('_', ' ')} must be 1 to 16, got {value + 1}")
        if self.click_bars is not None and not 1 <= self.click_bars <= 16:
            raise ValueError(f"count-in must be 1 to 16 bars, got {self.click_bars}")
        if self.end_phrase_cc is not None and not 0 <= self.end_phrase_cc <= 127:
            raise ValueError(f"phrase-end CC must be 0..127, got {self.end_phrase_cc}")
        unknown = [name for _, name in self.knobs if name not in KNOBS] + [n for n in self.learn if n not in KNOBS]
        if unknown:
            raise ValueError(f"no knob called {unknown[0]!r}; knobs: {', '.join(KNOBS)}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not 1 <= self.rest_bars <= 16:
            raise ValueError(f"rest after 1 to 16 bars of silence, got {self.rest_bars}")
        if self.key_mode not in KEY_MODES:
            raise ValueError(f"key mode must be one of {', '.join(KEY_MODES)}, got {self.key_mode!r}")


@dataclass
class HeardNote:
    """A player or model note in seconds; ``end`` is None while the key is held."""

    start: float
    pitch: int
    velocity: int
    end: float | None = None
    by_player: bool = True


@dataclass(frozen=True)
class AnswerPlan:
    """When a phrase ended and where its answer was placed, for reports."""

    phrase_end: float
    start: float
    start_tick: int
    bars: int
    key: Key | None


class Sounded(NamedTuple):
    """A note as a pitch-class histogram counts it."""

    pitch: int
    duration: float


@dataclass
class Answer:
    """An answer being sampled ahead on a fork of the model state."""

    tag: int
    state: object
    cursor: codec.Cursor
    start_tick: int
    end_tick: int
    shift: int
    notes: list[HeardNote] = field(default_factory=list)
    done_sampling: bool = False
    first_note_at: float | None = None


class Companion(AccompanyMixin):
    """Call-and-response logic; output goes to a sink with ``play(notes, tag)`` and ``cancel(tag)``."""

    def __init__(self, model: StepModel, sampler: Sampler, sink, config: CompanionConfig = CompanionConfig(),
                 clock: InternalClock | None = None, models: tuple[StepModel, ...] = ()) -> None:
        self.model = model
        self.models = models or (model,)  # the presets the preset knob chooses among
        self.sampler = sampler
        self.settings = sampler.config  # as the player set them, in real pitches; the sampler's are moved by the key
        self.sink = sink
        self.config = config
        self.clock = clock or InternalClock(config.bpm)
        self.meter = codec.Meter.of_beats(config.beats_per_bar)
        self.bar_ticks = config.beats_per_bar * codec.TICKS_PER_BEAT
        self.history: list[HeardNote] = []  # encoded notes, player and model, for re-priming
        self.waiting: list[HeardNote] = []  # player notes heard but not yet encoded
        self.held: dict[int, HeardNote] = {}
        self.sustained: list[HeardNote] = []
        self.sustain = False
        self.call: list[HeardNote] = []
        self.last_sound = 0.0
        self.key: Key | None = None
        self.answer: Answer | None = None
        self.stream: Stream | None = None
        self._replan_due = False
        self.answers_started = 0
        self.phrase_ended_at: float | None = None
        self._key_checked_at = -math.inf
        self.tempo_known = not config.auto_tempo
        self.knobs: dict[int, str] = dict(config.knobs)  # controller number -> knob name
        self.knob_values: dict[str, object] = {}
        self.learning: list[str] = list(config.learn)
        self.on_learned = None  # called with (knob name, controller, knobs still to learn)
        # Reports of recent answers; bounded, so a session of hours keeps a flat memory.
        self.answered: deque[AnswerPlan] = deque(maxlen=REPORTS_KEPT)
        self.readiness: deque[float] = deque(maxlen=REPORTS_KEPT)  # phrase end -> first answer note, s
        self.replans: deque[float] = deque(maxlen=REPORTS_KEPT)  # accompany: a player's note -> plan sampled again, s
        self.step_seconds: list[float] = []
        self.perf_now = time.perf_counter
        self._reset_model(base_bar=0)

    # -- state -------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        if self.stream is not None:
            return ACCOMPANYING
        if self.answer is not None:
            return ANSWERING
        if not self.config.active:
            return PAUSED
        return PLAYING if self.call else LISTENING

    @property
    def accompanying(self) -> bool:
        return self.config.mode == "accompany"

    def _reset_model(self, base_bar: int) -> None:
        self.state = self.model.initial_state()
        self.writer = codec.Writer(self.meter, self._bar_token())
        self.base_bar = base_bar

    def _bar_token(self) -> int:
        """What opens a bar for the model in use: a model of the modal vocabulary hears the call's mode.

        Read from the model, not the config: the preset knob may switch between presets told the
        mode and presets not.
        """
        return bar_token(self.model.vocab_size == codec.MODAL_VOCAB_SIZE, self.key)

    def _tick_of(self, time_s: float) -> float:
        return self.clock.beats_at(time_s) * codec.TICKS_PER_BEAT

    def _shift(self) -> int:
        return self.key.to_canonical() if self.key is not None else 0

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
            self._key_up(message.note, at)
        elif message.type == "control_change":
            self._control(message.control, message.value, at)

    def _key_down(self, pitch: int, velocity: int, at: float) -> None:
        if self.answer is not None and self.config.yield_to_player:
            self._end_answer(at, interrupted=True)
        if not self.call and self.answer is None and self.stream is None:
            self._begin_call(at)
        if self.stream is not None:
            self._replan_due = True  # the player moved: what is not yet sent is sampled again
            self.stream.end_tick = math.inf
        if pitch in self.held:
            self._release(self.held.pop(pitch), at)
        for note in [n for n in self.sustained if n.pitch == pitch]:
            self.sustained.remove(note)
            self._release(note, at)
        note = HeardNote(at, pitch, velocity)
        self.held[pitch] = note
        self.call.append(note)
        self.waiting.append(note)
        self.phrase_ended_at = None

    def _key_up(self, pitch: int, at: float) -> None:
        note = self.held.pop(pitch, None)
        if note is None:
            return  # a release for a key we never heard go down
        if self.sustain:
            self.sustained.append(note)
        else:
            self._release(note, at)

    def _release(self, note: HeardNote, at: float) -> None:
        note.end = at
        self.last_sound = max(self.last_sound, at)

    def _control(self, control: int, value: int, at: float) -> None:
        if control == SUSTAIN:
            self.sustain = value >= 64
            if not self.sustain:
                for note in self.sustained:
                    self._release(note, at)
                self.sustained.clear()
        elif control in ALL_NOTES_OFF_CONTROLS:
            self._release_all(at)  # clears keys whose note-off was lost on the way, which held the phrase open
        elif control == self.config.end_phrase_cc and value >= 64 and self.call:
            self._release_all(at)
            self._phrase_end(at)
        elif self.learning:
            self._learn(control)
        elif control in self.knobs:
            self._turn(self.knobs[control], value, at)

    def _release_all(self, at: float) -> None:
        """Every held and sustained key up, the pedal up."""
        for pitch in list(self.held):
            self._release(self.held.pop(pitch), at)
        for note in self.sustained:
            self._release(note, at)
        self.sustained.clear()
        self.sustain = False

    def _learn(self, control: int) -> None:
        """MIDI learn: the first controller moved is bound to the knob being learned."""
        if control in self.knobs:
            return  # still the knob just learned
        name = self.learning.pop(0)
        self.knobs[control] = name
        if self.on_learned is not None:
            self.on_learned(name, control, list(self.learning))

    def _turn(self, name: str, cc_value: int, at: float) -> None:
        """Apply a knob at once: sampling settings from the next token, the others to what is under way."""
        knob = KNOBS[name]
        if knob.target == "preset":
            self._use_model(min(len(self.models) - 1, cc_value * len(self.models) // 128), at)
            return
        value = knob.value(cc_value)
        self.knob_values[name] = value
        if knob.target == "sampling":
            self.settings = knob.apply(self.settings, value)
            self._retune()
            return
        self.config = dataclasses.replace(self.config, **{knob.field: value})
        if knob.field in ("mode", "active"):
            if self.stream is not None and (not self.config.active or not self.accompanying):
                self._end_stream(at, interrupted=True)
            if self.answer is not None and not self.config.active:
                self._end_answer(at, interrupted=True)
            return
        if knob.field == "key_lock":
            self._retune()  # the very next notes already obey it
        elif knob.field == "answer_bars" and self.answer is not None:
            self._resize_answer(value, at)

    def _resize_answer(self, bars: int, at: float) -> None:
        """The answer-length knob turned mid-answer: it ends after ``bars`` bars, or at the next bar
        line if that is already past; notes booked beyond the new end are taken back."""
        answer = self.answer
        next_bar_line = self.meter.bar_start(self.meter.locate(math.ceil(self._tick_of(at)))[0] + 1)
        answer.end_tick = max(answer.start_tick + bars * self.bar_ticks, min(answer.end_tick, next_bar_line))
        end = self.clock.time_of_beat(answer.end_tick / codec.TICKS_PER_BEAT)
        self.sink.retract(answer.tag, end)
        answer.notes = [n for n in answer.notes if n.start < end]
        answer.done_sampling = self.meter.bar_start(self.base_bar) + answer.cursor.onset >= answer.end_tick

    def _use_model(self, index: int, at: float) -> None:
        """The preset knob: another model from now on, primed with what was played."""
        self.knob_values["preset"] = index
        if self.models[index] is self.model:
            return
        if self.answer is not None:
            self._end_answer(at, interrupted=True)  # its state belongs to the other model
        self.model = self.models[index]
        self.reprime(at)  # an accompaniment re-forks from the new state on its next tick

    def _transport(self, event: str | None, at: float) -> None:
        """The DAW's start, continue or stop: a stop silences the model at once."""
        if event is None:
            return
        if self.answer is not None:
            self._end_answer(at, interrupted=True)
        if self.stream is not None:
            self._end_stream(at, interrupted=True)
        self.call.clear()
        self.waiting.clear()
        self.held.clear()
        self.sustained.clear()
        if event != "stop":
            self.history.clear()
            self._reset_model(base_bar=0)

    def _begin_call(self, at: float) -> None:
        if self._fixed_grid or self.clock.external:
            return  # the click, our clock or the DAW's clock sets the grid and the player follows it
        self._anchor_call(at)

    def _anchor_call(self, at: float) -> None:
        """The first note of a call is a downbeat: that of the bar after the one now under way.

        The player is not following our clock, so each call sets the grid anew; bar numbers go
        on counting, so the seed buffer keeps its notes (each moved by less than a bar).
        """
        bar = self.meter.locate(max(0, math.floor(self._tick_of(at))))[0] + 1 if self.clock.started else 0
        self.clock.start(at - bar * self.config.beats_per_bar * self.clock.seconds_per_beat)
        self.reprime(at)

    # -- time ------------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Advance to ``now``: encode finished notes, end the phrase, sample the answer ahead."""
        if self._fixed_grid:
            self._beat_ahead(now)
        if self.accompanying:
            self._accompany(now)
        elif self.call:
            self._encode_ready(now)
            # Until the first phrase gives the tempo, wait as for the slowest pulse we would find.
            beat = self.clock.seconds_per_beat if self.tempo_known else 60.0 / SLOWEST_AUTO_BPM
            silence = self.config.phrase_end_beats * beat
            if not self.held and not self.sustained and now - self.last_sound >= silence:
                self._phrase_end(now)
        if self.answer is not None:
            self._sample_ahead(now)
            if now >= self.clock.time_of_beat(self.answer.end_tick / codec.TICKS_PER_BEAT):
                self._end_answer(now, interrupted=False)

    @property
    def _fixed_grid(self) -> bool:
        return self.config.metronome_channel is not None or self.config.send_clock

    def _beat_ahead(self, now: float) -> None:
        """Book the clock pulses and metronome clicks a little ahead, on absolute beat times."""
        if not self.clock.started:
            self.clock.start(now + 0.1)
            self.reprime(now)
            self._next_pulse = 0
            if self.config.send_clock:
                self.sink.send_at([(self.clock.time_of_beat(0) - 0.001, mido.Message("start"))], METRONOME_TAG)
        horizon_pulse = int(self.clock.beats_at(now + self.config.lookahead_beats * self.clock.seconds_per_beat)
                            * CLOCKS_PER_BEAT)
        pulses, clicks = [], []
        for pulse in range(self._next_pulse, horizon_pulse + 1):
            at = self.clock.time_of_beat(pulse / CLOCKS_PER_BEAT)
            if self.config.send_clock:
                pulses.append((at, mido.Message("clock")))
            if self.config.metronome_channel is not None and pulse % CLOCKS_PER_BEAT == 0 and \
                    (self.config.click_bars is None or pulse < self.config.click_bars * self.config.beats_per_bar * CLOCKS_PER_BEAT):
                downbeat = pulse // CLOCKS_PER_BEAT % self.config.beats_per_bar == 0
                clicks.append(TimedNote(at, at + CLICK_SECONDS, CLICK_PITCHES[0 if downbeat else 1],
                                        100 if downbeat else 70, self.config.metronome_channel))
        self._next_pulse = max(self._next_pulse, horizon_pulse + 1)
        if pulses:
            self.sink.send_at(pulses, METRONOME_TAG)
        if clicks:
            self.sink.play(clicks, METRONOME_TAG)

    def _encode_ready(self, now: float) -> None:
        """Encode waiting notes in onset order once complete and once no earlier onset can come."""
        for note in self._ready(now)[0]:
            self.waiting.remove(note)
            self._encode_player_note(note, now)

    def _ready(self, now: float) -> tuple[list[HeardNote], int]:
        """Waiting notes that can be encoded, in onset order, and the tick before which all is known."""
        now_tick = round(self._tick_of(now))
        ready = []
        for note in sorted(self.waiting, key=lambda n: (self._onset_tick(n), n.pitch)):
            onset = self._onset_tick(note)
            if onset >= now_tick:
                break
            if note.end is None and now_tick - onset < codec.DURATIONS[-1]:
                return ready, onset  # still held: later notes must wait for it
            ready.append(note)
        return ready, now_tick

    def _onset_tick(self, note: HeardNote) -> int:
        return max(0, round(self._tick_of(note.start)))

    def _as_codec_note(self, note: HeardNote, now: float, shift: int) -> codec.Note:
        onset = self._onset_tick(note)
        end = note.end if note.end is not None else now
        length = max(1, round(self._tick_of(end)) - onset)
        return codec.Note(onset, codec.transpose_pitch(note.pitch, shift), note.velocity,
                          min(length, codec.DURATIONS[-1]))

    def _encode_player_note(self, note: HeardNote, now: float) -> None:
        self.history.append(note)
        del self.history[:-MAX_HISTORY_NOTES]
        due = now - self._key_checked_at >= KEY_CHECK_BEATS * self.clock.seconds_per_beat
        if due and self._check_key(now):
            return
        self._feed_note(self._as_codec_note(note, now, self._shift()), now)

    def _remember(self, note: TimedNote, end: float) -> None:
        """A model note that sounded (until ``end``), into the seed buffer."""
        self.history.append(HeardNote(note.start, note.pitch, note.velocity, end, by_player=False))
        del self.history[:-MAX_HISTORY_NOTES]

    def _check_key(self, now: float) -> bool:
        """Re-estimate the call's key; on a change, re-prime in the new key. True if it changed."""
        self._key_checked_at = now
        key = self._estimate_key()
        if key == self.key:
            return False
        self.key = key
        self.reprime(now)
        return True

    def _estimate_key(self) -> Key | None:
        if not transposes(self.config.key_mode):
            return None
        return estimate_key(self._player_window_notes())

    def _player_window_notes(self) -> list[Sounded]:
        """The player's finished notes as the key estimate weighs them: pitch and length in seconds.

        Seconds, not ticks: the estimate only compares lengths with each other, and this costs no
        tick conversion per note at the phrase end (128 conversions took ~0.5 ms for 32 bars).
        """
        longest = codec.DURATIONS[-1] / codec.TICKS_PER_BEAT * self.clock.seconds_per_beat
        return [Sounded(n.pitch, min(n.end - n.start, longest)) for n in self.history
                if n.by_player and n.end is not None]

    def _feed_note(self, note: codec.Note, now: float) -> None:
        bar, _ = self.meter.locate(note.onset)
        if bar - self.base_bar - self.writer.cursor.bar > 2:
            self.reprime(now)  # after a long silence, rebuild from the buffer rather than feed empty bars
            return
        model_note = codec.Note(note.onset - self.meter.bar_start(self.base_bar), note.pitch,
                                note.velocity, note.duration)
        try:
            tokens = self.writer.note(model_note)
        except ValueError:
            if model_note.onset == self.writer.cursor.onset:
                return  # a lower or repeated pitch on an onset already fed (a flood): the next re-prime has it
            self.reprime(now)  # out of order after a re-anchor: rebuild rather than lose the note
            return
        self._step(tokens)

    def _step(self, tokens) -> None:
        started = self.perf_now()
        self.model.feed(tokens, self.state)
        if tokens:
            self.step_seconds.append((self.perf_now() - started) / len(tokens))
            del self.step_seconds[:-1000]

    def reprime(self, now: float) -> None:
        """Rebuild the model state from the notes of the last ``seed_bars`` bars (their last tokens)."""
        current_bar = self.meter.locate(max(0, round(self._tick_of(now))))[0]
        window_start = self.meter.bar_start(max(0, current_bar - self.config.seed_bars + 1))
        self.history = [n for n in self.history
                        if n.end is None or self._tick_of(n.end) > window_start]
        shift = self._shift()
        notes = [self._as_codec_note(n, now, shift) for n in self.history
                 if self._tick_of(n.start) >= window_start - 0.5]
        base_bar = min((self.meter.locate(n.onset)[0] for n in notes), default=current_bar)
        self._reset_model(base_bar)
        offset = self.meter.bar_start(base_bar)
        model_notes = codec.merge_unisons(
            codec.Note(n.onset - offset, n.pitch, n.velocity, n.duration) for n in notes)
        tokens = []
        for note in model_notes:
            tokens.extend(self.writer.note(note))
        tokens.extend(self.writer.close_bars(0))
        self._step(codec.tail(tokens, REPRIME_TOKENS))
        self._retune()  # the key may have changed: the range and the key lock move with it
        self._replan_due = self.stream is not None  # a stream's fork now refers to the old state

    # -- answering -----------------------------------------------------------------------------
    def _phrase_end(self, now: float) -> None:
        self._phrase_end_wall = self.perf_now()
        for note in self.waiting:
            if note.end is None:
                note.end = now
        if not self.tempo_known:
            self._settle_tempo(now)
        if not self.config.active:
            self._encode_ready(now)
            self.call = []
            return
        for note in sorted(self.waiting, key=lambda n: (self._onset_tick(n), n.pitch)):
            self._encode_player_note(note, now)
        self.waiting.clear()
        self._check_key(now)  # the answer is in the key of the whole call
        call = self.call
        self.call = []
        self.phrase_ended_at = now
        self._start_answer(call, now)

    def _settle_tempo(self, now: float) -> None:
        """--bpm auto: the first phrase's pulse becomes the tempo; notes so far are re-read on it."""
        bpm = estimate_tempo([note.start for note in self.call])
        if bpm is not None:
            self.clock.seconds_per_beat = 60.0 / bpm
        self.tempo_known = True
        self.reprime(now)

    def _answer_bars(self, call: list[HeardNote]) -> int:
        if self.config.answer_bars is not None:
            return self.config.answer_bars
        first = self.meter.locate(self._onset_tick(call[0]))[0]
        last = self.meter.locate(max(0, round(self._tick_of(max(n.end for n in call))) - 1))[0]
        return max(1, min(self.config.max_answer_bars, last - first + 1))

    def _start_tick(self, now: float) -> int:
        lead = 0.003  # the first note needs a few ms to reach the scheduler
        beats = self.clock.beats_at(now + lead)
        unit = self.config.beats_per_bar if self.config.start_on == "bar" else 1
        return math.ceil(beats / unit) * unit * codec.TICKS_PER_BEAT

    def _retune(self) -> None:
        """The player's settings where the model hears them: range and key lock moved by the call's key."""
        shift = self._shift()
        scale = None
        if self.config.key_lock:
            key = self.key or estimate_key(self._player_window_notes())
            scale = None if key is None else frozenset((pc + shift) % 12 for pc in key.scale())
        low, high = (min(codec.PITCH_HIGH, max(codec.PITCH_LOW, pitch + shift))
                     for pitch in (self.settings.pitch_low, self.settings.pitch_high))
        self.sampler.reconfigure(dataclasses.replace(self.settings, pitch_low=low, pitch_high=high, scale=scale))

    def _start_answer(self, call: list[HeardNote], now: float) -> None:
        self._retune()
        start_tick = self._start_tick(now)
        start_bar, start_position = self.meter.locate(start_tick)
        state = self.state.copy()
        cursor = self.writer.cursor.copy()
        model_bar = start_bar - self.base_bar
        tokens = [cursor.bar_token] * max(0, model_bar - cursor.bar) + [codec.position_token(start_position)]
        for token in tokens:
            cursor.advance(token)
        self.model.feed(tokens, state)
        self.answers_started += 1
        bars = self._answer_bars(call)
        end_tick = start_tick + bars * self.bar_ticks
        self.answered.append(AnswerPlan(now, self.clock.time_of_beat(start_tick / codec.TICKS_PER_BEAT),
                                        start_tick, bars, self.key))
        self.answer = Answer(self.answers_started, state, cursor, start_tick, end_tick, self._shift())
        self._sample_ahead(now)

    def _sample_ahead(self, now: float) -> None:
        """Sample the answer until it reaches ``lookahead_beats`` past now (or its end)."""
        answer = self.answer
        offset = self.meter.bar_start(self.base_bar)
        horizon = max(self._tick_of(now) + self.config.lookahead_beats * codec.TICKS_PER_BEAT,
                      answer.start_tick)
        fresh = []
        while not answer.done_sampling and offset + answer.cursor.onset <= horizon:
            note = self._sample_token(answer, offset)
            if note is not None:
                fresh.append(self._timed(note, offset, answer))
                if answer.first_note_at is None:
                    self._hand_over(fresh, answer)  # the first note goes out at once
                    answer.first_note_at = answer.notes[0].start
                    self.readiness.append(self.perf_now() - self._phrase_end_wall)
                    fresh = []
        self._hand_over(fresh, answer)

    def _sample_token(self, fork, offset: int, floor: int | None = None) -> codec.Note | None:
        """One token of an answer or accompaniment (onsets from ``floor`` on); the note it completes.

        A BAR or POSITION past the fork's end is not taken: the fork is then done sampling.
        """
        token = self.sampler.choose(fork.state.logits, fork.cursor, floor)
        if self._beyond_answer(token, fork, offset):
            fork.done_sampling = True
            return None
        note = fork.cursor.advance(token)
        self.model.step(token, fork.state)
        return note

    def _hand_over(self, notes: list[TimedNote], answer: Answer) -> None:
        if notes:
            answer.notes.extend(HeardNote(n.start, n.pitch, n.velocity, n.end, by_player=False) for n in notes)
            self.sink.play(notes, answer.tag)

    def _beyond_answer(self, token: int, answer: Answer, offset: int) -> bool:
        """Whether a sampled BAR or POSITION would start past the answer's last tick."""
        cursor = answer.cursor
        if token == cursor.bar_token:
            return offset + self.meter.bar_start(cursor.bar + 1) >= answer.end_tick
        if codec.POSITION_BASE <= token < codec.PITCH_BASE:
            return offset + cursor.bar_start + token - codec.POSITION_BASE >= answer.end_tick
        return False

    def _timed(self, note: codec.Note, offset: int, answer: Answer) -> TimedNote:
        onset = offset + note.onset
        end = min(onset + note.duration, answer.end_tick)
        pitch = codec.transpose_pitch(note.pitch, -answer.shift)
        return TimedNote(
            start=self.clock.time_of_beat(onset / codec.TICKS_PER_BEAT),
            end=self.clock.time_of_beat(end / codec.TICKS_PER_BEAT),
            pitch=pitch, velocity=note.velocity, channel=self.config.out_channel,
        )

    def _end_answer(self, now: float, interrupted: bool) -> None:
        answer = self.answer
        self.answer = None
        if interrupted:
            self.sink.cancel(answer.tag)
        played = [n for n in answer.notes if n.start < now]
        for note in played:
            note.end = min(note.end, now)
        self.history.extend(played)
        self.reprime(now)
