"""How the companion listens and answers: one frozen record, checked in a musician's words."""

from __future__ import annotations

from dataclasses import dataclass

from livegen.live.clock import check_tempo
from livegen.live.knobs import KNOBS
from livegen.music import codec
from livegen.music.dynamics import DEFAULT_FOLLOW, check_follow
from livegen.music.key import KEY_MODES
from livegen.model.adapt import check_adapt

MODES = ("answer", "accompany")


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
