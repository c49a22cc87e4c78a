"""Bar-relative event vocabulary: notes to tokens and back. Pure: no I/O, no mutable globals.

A piece is a sequence of tokens in time order. ``BAR`` opens every bar (empty ones too; in the
modal vocabulary ``BAR_MINOR`` opens the bars of a minor piece instead),
``POSITION(k)`` gives the onset tick inside the bar (ticks of 1/12 beat, a beat being a
quarter note) before the first note of each onset, and a note is ``PITCH, VELOCITY, DURATION``;
the notes of one onset come in rising pitch. Because a note carries its length, nothing decoded
from tokens can be left sounding.

One state machine, :class:`Cursor`, reads every token: the encoder checks its output with it,
the decoder turns tokens into notes with it, and the sampler asks it what may come next.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

TICKS_PER_BEAT = 12
MAX_BAR_TICKS = 96
PITCH_LOW = 21
PITCH_HIGH = 108
VELOCITY_BINS = 16
DURATIONS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 18, 21, 24, 30, 36, 42, 48, 60, 72, 96)

PAD = 0
BAR = 1
POSITION_BASE = 2
PITCH_BASE = POSITION_BASE + MAX_BAR_TICKS
VELOCITY_BASE = PITCH_BASE + (PITCH_HIGH - PITCH_LOW + 1)
DURATION_BASE = VELOCITY_BASE + VELOCITY_BINS
VOCAB_SIZE = DURATION_BASE + len(DURATIONS)
BAR_MINOR = VOCAB_SIZE  # the modal vocabulary's one extra token
MODAL_VOCAB_SIZE = VOCAB_SIZE + 1
BARS = (BAR, BAR_MINOR)

_DURATION_INDEX = {ticks: index for index, ticks in enumerate(DURATIONS)}


def vocabulary_spec(modal: bool = False) -> dict:
    """The vocabulary as plain data, stored in every preset so a mismatch is caught on load.

    ``modal``: the vocabulary with ``BAR_MINOR``, whose bars say whether the music is minor.
    """
    spec = {
        "name": "modal-bar-position-pitch-velocity-duration" if modal else "bar-position-pitch-velocity-duration",
        "ticks_per_beat": TICKS_PER_BEAT,
        "max_bar_ticks": MAX_BAR_TICKS,
        "pitch_range": [PITCH_LOW, PITCH_HIGH],
        "velocity_bins": VELOCITY_BINS,
        "durations": list(DURATIONS),
        "size": MODAL_VOCAB_SIZE if modal else VOCAB_SIZE,
    }
    if modal:
        spec["bar_modes"] = ["major", "minor"]
    return spec


@dataclass(frozen=True, order=True)
class Note:
    """A note on the tick grid: onset and duration in ticks of 1/12 beat from the piece start."""

    onset: int
    pitch: int
    velocity: int
    duration: int

    def __post_init__(self) -> None:
        if self.onset < 0:
            raise ValueError(f"note onset must be >= 0 ticks, got {self.onset}")
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"pitch must be in 0..127, got {self.pitch}")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"velocity must be in 1..127, got {self.velocity}")
        if self.duration < 1:
            raise ValueError(f"duration must be >= 1 tick, got {self.duration}")

    @property
    def end(self) -> int:
        return self.onset + self.duration


@dataclass(frozen=True)
class Meter:
    """Bar lengths over time as ``(start_tick, bar_ticks)`` changes; the first starts at 0.

    A change that falls inside a bar cuts that bar short: the new meter starts a new bar.
    """

    changes: tuple[tuple[int, int], ...] = ((0, 4 * TICKS_PER_BEAT),)
    _first_bars: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.changes or self.changes[0][0] != 0:
            raise ValueError(f"the first meter change must start at tick 0, got {self.changes!r}")
        starts = [start for start, _ in self.changes]
        if any(later <= earlier for earlier, later in zip(starts, starts[1:])):
            raise ValueError(f"meter changes must start at rising ticks, got {starts}")
        for _, bar_ticks in self.changes:
            if not 1 <= bar_ticks <= MAX_BAR_TICKS:
                raise ValueError(
                    f"a bar must last 1..{MAX_BAR_TICKS} ticks (at most 8 beats), got {bar_ticks}"
                )
        first_bars = [0]
        for (start, bar_ticks), (next_start, _) in zip(self.changes, self.changes[1:]):
            first_bars.append(first_bars[-1] + -(-(next_start - start) // bar_ticks))
        object.__setattr__(self, "_first_bars", tuple(first_bars))

    @classmethod
    def of_beats(cls, beats_per_bar: int) -> Meter:
        """A constant meter of ``beats_per_bar`` quarter notes."""
        return cls(((0, beats_per_bar * TICKS_PER_BEAT),))

    def bar_start(self, bar: int) -> int:
        """Tick where bar number ``bar`` (from 0) starts."""
        segment = bisect.bisect_right(self._first_bars, bar) - 1
        start, bar_ticks = self.changes[segment]
        return start + (bar - self._first_bars[segment]) * bar_ticks

    def bar_ticks(self, bar: int) -> int:
        """Length of bar number ``bar`` in ticks (shorter where a meter change cuts it)."""
        segment = bisect.bisect_right(self._first_bars, bar) - 1
        length = self.changes[segment][1]
        if segment + 1 < len(self.changes):
            length = min(length, self.changes[segment + 1][0] - self.bar_start(bar))
        return length

    def locate(self, tick: int) -> tuple[int, int]:
        """``(bar, position)`` of an absolute tick."""
        if tick < 0:
            raise ValueError(f"tick must be >= 0, got {tick}")
        segment = bisect.bisect_right([start for start, _ in self.changes], tick) - 1
        start, bar_ticks = self.changes[segment]
        bars_in, position = divmod(tick - start, bar_ticks)
        return self._first_bars[segment] + bars_in, position


def velocity_bin(velocity: int) -> int:
    """Loudness bin 0..15 of a MIDI velocity 1..127."""
    if not 1 <= velocity <= 127:
        raise ValueError(f"velocity must be in 1..127, got {velocity}")
    return (velocity - 1) * VELOCITY_BINS // 127


def bin_velocity(bin_index: int) -> int:
    """The velocity a loudness bin plays at: the middle of the bin."""
    low = -(-bin_index * 127 // VELOCITY_BINS) + 1
    high = ((bin_index + 1) * 127 - 1) // VELOCITY_BINS + 1
    return (low + high) // 2


def quantize_duration(ticks: int) -> int:
    """The nearest representable duration (longer notes are cut to the longest, 8 beats)."""
    if ticks < 1:
        raise ValueError(f"duration must be >= 1 tick, got {ticks}")
    index = bisect.bisect_left(DURATIONS, ticks)
    if index == len(DURATIONS):
        return DURATIONS[-1]
    if DURATIONS[index] == ticks or index == 0:
        return DURATIONS[index]
    below, above = DURATIONS[index - 1], DURATIONS[index]
    return below if ticks - below < above - ticks else above


def quantize(note: Note) -> Note:
    """The note as it comes back from ``decode(encode(...))``."""
    return Note(note.onset, note.pitch, bin_velocity(velocity_bin(note.velocity)),
                quantize_duration(note.duration))


def position_token(position: int) -> int:
    if not 0 <= position < MAX_BAR_TICKS:
        raise ValueError(f"position must be in 0..{MAX_BAR_TICKS - 1} ticks, got {position}")
    return POSITION_BASE + position


def pitch_token(pitch: int) -> int:
    if not PITCH_LOW <= pitch <= PITCH_HIGH:
        raise ValueError(f"pitch {pitch} is outside the piano range {PITCH_LOW}..{PITCH_HIGH}")
    return PITCH_BASE + pitch - PITCH_LOW


def velocity_token(velocity: int) -> int:
    return VELOCITY_BASE + velocity_bin(velocity)


def duration_token(duration: int) -> int:
    return DURATION_BASE + _DURATION_INDEX[quantize_duration(duration)]


def describe(token: int) -> str:
    """A token in words, for messages and debugging: ``POSITION(6)``, ``PITCH(60)``."""
    if token == PAD:
        return "PAD"
    if token == BAR:
        return "BAR"
    if token == BAR_MINOR:
        return "BAR(minor)"
    if POSITION_BASE <= token < PITCH_BASE:
        return f"POSITION({token - POSITION_BASE})"
    if PITCH_BASE <= token < VELOCITY_BASE:
        return f"PITCH({token - PITCH_BASE + PITCH_LOW})"
    if VELOCITY_BASE <= token < DURATION_BASE:
        return f"VELOCITY({token - VELOCITY_BASE})"
    if DURATION_BASE <= token < VOCAB_SIZE:
        return f"DURATION({DURATIONS[token - DURATION_BASE]})"
    raise ValueError(f"token {token} is outside the vocabulary 0..{MODAL_VOCAB_SIZE - 1}")


# What the cursor expects next.
START = "start"  # nothing read yet: only a bar token
AFTER_BAR = "after-bar"  # BAR or POSITION
AFTER_POSITION = "after-position"  # PITCH
AFTER_PITCH = "after-pitch"  # VELOCITY
AFTER_VELOCITY = "after-velocity"  # DURATION
AFTER_NOTE = "after-note"  # a higher PITCH at the same onset, a later POSITION, or BAR


class Cursor:
    """Reads tokens one at a time, checks the grammar, and knows where in the music it stands.

    ``advance`` returns the :class:`Note` a ``DURATION`` token completes (else ``None``) and
    raises ``ValueError`` naming any token that cannot come next. Either bar token opens a bar;
    ``bar_token`` is the one this stream writes and samples (``BAR_MINOR`` for a minor piece in
    the modal vocabulary).
    """

    def __init__(self, meter: Meter = Meter(), bar_token: int = BAR) -> None:
        if bar_token not in BARS:
            raise ValueError(f"a bar opens with BAR or BAR_MINOR, not {describe(bar_token)}")
        self.meter = meter
        self.bar_token = bar_token
        self.phase = START
        self.bar = -1
        self.bar_start = 0
        self.bar_ticks = meter.bar_ticks(0)
        self.position = -1
        self.last_pitch = -1
        self.pending_pitch = 0
        self.pending_velocity = 0
        self.sounding: list[tuple[int, int]] = []  # (end tick, pitch) of notes still sounding
        self.tokens_read = 0

    @property
    def onset(self) -> int:
        """Absolute tick of the current onset (or of the bar start before any onset)."""
        return self.bar_start + max(self.position, 0)

    def copy(self) -> Cursor:
        twin = Cursor.__new__(Cursor)
        twin.__dict__.update(self.__dict__)
        twin.sounding = list(self.sounding)
        return twin

    def sounding_pitches(self) -> list[int]:
        """Pitches still sounding at the current onset."""
        return [pitch for _, pitch in self.sounding]

    def advance(self, token: int) -> Note | None:
        phase = self.phase
        if token == BAR or token == BAR_MINOR:
            if phase not in (START, AFTER_BAR, AFTER_NOTE):
                raise self._misplaced(token)
            self.bar += 1
            self.bar_start = self.meter.bar_start(self.bar)
            self.bar_ticks = self.meter.bar_ticks(self.bar)
            self.position = -1
            self.phase = AFTER_BAR
        elif POSITION_BASE <= token < PITCH_BASE:
            position = token - POSITION_BASE
            if phase not in (AFTER_BAR, AFTER_NOTE):
                raise self._misplaced(token)
            if position <= self.position:
                raise ValueError(
                    f"POSITION({position}) does not come after position {self.position} "
                    f"(token {self.tokens_read})"
                )
            if position >= self.bar_ticks:
                raise ValueError(
                    f"POSITION({position}) lies beyond the bar of {self.bar_ticks} ticks "
                    f"(token {self.tokens_read})"
                )
            self.position = position
            self.last_pitch = -1
            onset = self.bar_start + position
            self.sounding = [entry for entry in self.sounding if entry[0] > onset]
            self.phase = AFTER_POSITION
        elif PITCH_BASE <= token < VELOCITY_BASE:
            pitch = token - PITCH_BASE + PITCH_LOW
            if phase not in (AFTER_POSITION, AFTER_NOTE):
                raise self._misplaced(token)
            if pitch <= self.last_pitch:
                raise ValueError(
                    f"PITCH({pitch}) does not rise above PITCH({self.last_pitch}) at the same "
                    f"onset (token {self.tokens_read})"
                )
            self.pending_pitch = pitch
            self.phase = AFTER_PITCH
        elif VELOCITY_BASE <= token < DURATION_BASE:
            if phase != AFTER_PITCH:
                raise self._misplaced(token)
            self.pending_velocity = bin_velocity(token - VELOCITY_BASE)
            self.phase = AFTER_VELOCITY
        elif DURATION_BASE <= token < VOCAB_SIZE:
            if phase != AFTER_VELOCITY:
                raise self._misplaced(token)
            note = Note(self.onset, self.pending_pitch, self.pending_velocity,
                        DURATIONS[token - DURATION_BASE])
            self.last_pitch = note.pitch
            self.sounding.append((note.end, note.pitch))
            self.phase = AFTER_NOTE
            self.tokens_read += 1
            return note
        else:
            raise ValueError(
                f"token {token} cannot be read here: {describe(token)} "
                f"(token {self.tokens_read})"
            )
        self.tokens_read += 1
        return None

    def _misplaced(self, token: int) -> ValueError:
        return ValueError(
            f"{describe(token)} cannot follow in state {self.phase} (token {self.tokens_read})"
        )


def _note_tokens(note: Note) -> tuple[int, int, int]:
    return pitch_token(note.pitch), velocity_token(note.velocity), duration_token(note.duration)


class Writer:
    """Turns notes into tokens as they arrive, in onset order and rising pitch per onset."""

    def __init__(self, meter: Meter = Meter(), bar_token: int = BAR) -> None:
        self.cursor = Cursor(meter, bar_token)

    def copy(self) -> Writer:
        """A writer that goes on from here on its own."""
        twin = Writer(self.cursor.meter, self.cursor.bar_token)
        twin.cursor = self.cursor.copy()
        return twin

    def bars_until(self, bar: int) -> list[int]:
        """Bar tokens that open every bar up to and including ``bar``."""
        return [self.cursor.bar_token] * max(0, bar - self.cursor.bar)

    def note(self, note: Note) -> list[int]:
        """Tokens for one note; raises ``ValueError`` if it arrives out of order."""
        bar, position = self.cursor.meter.locate(note.onset)
        if bar < self.cursor.bar:
            raise ValueError(f"note at tick {note.onset} arrives after bar {self.cursor.bar} began")
        tokens = self.bars_until(bar)
        if bar > self.cursor.bar or position != self.cursor.position:
            tokens.append(position_token(position))
        tokens.extend(_note_tokens(note))
        for token in tokens:
            self.cursor.advance(token)
        return tokens

    def close_bars(self, bar: int) -> list[int]:
        """Tokens that open every bar up to ``bar``, checked and read."""
        tokens = self.bars_until(bar)
        for token in tokens:
            self.cursor.advance(token)
        return tokens


def encode(notes, meter: Meter = Meter(), bars: int | None = None, bar_token: int = BAR) -> list[int]:
    """Tokens for a piece. ``bars`` (at least the bars the notes reach) adds trailing empty bars;
    ``bar_token`` opens each bar.

    Notes at the same onset and pitch, pitches off the piano and out-of-range ticks raise
    ``ValueError`` naming them.
    """
    writer = Writer(meter, bar_token)
    tokens: list[int] = []
    for note in sorted(notes, key=lambda n: (n.onset, n.pitch)):
        tokens.extend(writer.note(note))
    if bars is not None:
        tokens.extend(writer.close_bars(bars - 1))
    if not tokens:
        tokens.extend(writer.close_bars(0))
    return tokens


def decode(tokens, meter: Meter = Meter()) -> list[Note]:
    """Notes for a token stream; raises ``ValueError`` naming the first token out of grammar."""
    cursor = Cursor(meter)
    notes = []
    for token in tokens:
        note = cursor.advance(int(token))
        if note is not None:
            notes.append(note)
    return notes


def tail(tokens: list[int], budget: int) -> list[int]:
    """The end of a token stream, at most ``budget`` tokens long, that reads as a stream itself.

    It starts on a bar line, or on an onset after a bar token of its own (the stream's own kind,
    as its first token): that bar keeps its positions but loses the notes before the cut. Only when a single onset holds more than
    ``budget`` tokens of notes does it run over, from that onset on.
    """
    if len(tokens) <= budget:
        return tokens
    cut = None
    for index in range(len(tokens) - 1, 0, -1):
        token = tokens[index]
        opens_bar = token == BAR or token == BAR_MINOR
        if opens_bar or POSITION_BASE <= token < PITCH_BASE:
            length = len(tokens) - index + (not opens_bar)
            if cut is not None and length > budget:
                break
            cut = index
    return tokens[cut:] if tokens[cut] in BARS else [tokens[0]] + tokens[cut:]


def merge_unisons(notes) -> list[Note]:
    """Notes sorted by onset and pitch, keeping only the longest of several on one onset and pitch."""
    kept: dict[tuple[int, int], Note] = {}
    for note in notes:
        key = (note.onset, note.pitch)
        if key not in kept or note.duration > kept[key].duration:
            kept[key] = note
    return [kept[key] for key in sorted(kept)]


def transpose_pitch(pitch: int, semitones: int) -> int:
    """A pitch moved by ``semitones``, then by octaves back onto the piano if pushed off it."""
    pitch += semitones
    while pitch < PITCH_LOW:
        pitch += 12
    while pitch > PITCH_HIGH:
        pitch -= 12
    return pitch


def transpose(notes, semitones: int) -> list[Note]:
    """Notes moved by ``semitones``, kept on the piano (see ``transpose_pitch``)."""
    return [Note(n.onset, transpose_pitch(n.pitch, semitones), n.velocity, n.duration) for n in notes]


def rebase(notes, offset: int) -> list[Note]:
    """Notes moved ``offset`` ticks earlier: counted from a later bar line (a negative offset: later)."""
    return [Note(n.onset - offset, n.pitch, n.velocity, n.duration) for n in notes]
