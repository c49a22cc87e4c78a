"""How the companion listens and answers: one frozen record, checked in a musician's words."""

from __future__ import annotations

from dataclasses import dataclass

from livegen.errors import SettingError
from livegen.limits import Limit
from livegen.live.clock import check_tempo
from livegen.live.knobs import KNOBS
from livegen.music import codec
from livegen.music.dynamics import DEFAULT_FOLLOW, check_follow
from livegen.music.key import KEY_MODES
from livegen.model.session_model import check_adapt

MODES = ("answer", "accompany")
BEATS_PER_BAR = Limit("beats per bar", 1, codec.MAX_BAR_TICKS // codec.TICKS_PER_BEAT,
                      f"between 1 and {codec.MAX_BAR_TICKS // codec.TICKS_PER_BEAT}", integer=True)
PHRASE_END = Limit("phrase end", 0.25, 16, "between 0.25 and 16 beats of silence")
ANSWER_BARS = Limit("answer length", 1, 64, "between 1 and 64 bars", integer=True)
MAX_ANSWER_BARS = Limit("longest answer", 1, 64, "between 1 and 64 bars", integer=True)
SEED_BARS = Limit("seed buffer", 1, 32, "1 to 32 bars", integer=True)
LOOKAHEAD = Limit("lookahead", 0.25, 8, "0.25 to 8 beats")
COUNT_IN = Limit("count-in", 1, 16, "1 to 16 bars", integer=True)
END_PHRASE_CC = Limit("phrase-end CC", 0, 127, "0..127", integer=True)
REST_BARS = Limit("accompany's rest", 1, 16, "after 1 to 16 bars of silence", integer=True)
CHANNELS = {name: Limit(name.replace("_", " "), 1, 16, "1 to 16", integer=True)  # as players count them
            for name in ("in_channel", "out_channel", "metronome_channel")}


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
    follow_dynamics: float = DEFAULT_FOLLOW  # 1: answer at the player's level; 0: the model's own velocities
    adapt: float = 0.0  # how much of what it learned of the player goes into the answer: 0 (none: as before) to 1

    def __post_init__(self) -> None:
        check_tempo(self.bpm)
        check_follow(self.follow_dynamics)
        check_adapt(self.adapt)
        for limit, value in ((BEATS_PER_BAR, self.beats_per_bar), (PHRASE_END, self.phrase_end_beats),
                             (ANSWER_BARS, self.answer_bars), (MAX_ANSWER_BARS, self.max_answer_bars),
                             (SEED_BARS, self.seed_bars), (LOOKAHEAD, self.lookahead_beats),
                             (COUNT_IN, self.click_bars), (END_PHRASE_CC, self.end_phrase_cc),
                             (REST_BARS, self.rest_bars)):
            if value is not None:
                limit.check(value)
        for name, limit in CHANNELS.items():
            if getattr(self, name) is not None:
                limit.check(getattr(self, name) + 1)
        if self.start_on not in ("beat", "bar"):
            raise SettingError(f"the answer starts on the next 'beat' or 'bar', got {self.start_on!r}")
        unknown = [name for _, name in self.knobs if name not in KNOBS] + [n for n in self.learn if n not in KNOBS]
        if unknown:
            raise SettingError(f"no knob called {unknown[0]!r}; knobs: {', '.join(KNOBS)}")
        if self.mode not in MODES:
            raise SettingError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.key_mode not in KEY_MODES:
            raise SettingError(f"key mode must be one of {', '.join(KEY_MODES)}, got {self.key_mode!r}")
