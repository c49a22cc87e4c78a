"""Bar-relative event vocabulary: notes to tokens and back. Pure: no I/O, no mutable globals.

A piece is a sequence of tokens in time order. ``BAR`` opens every bar (empty ones too; in the
modal vocabulary ``BAR_MINOR`` opens the bars of a minor piece instead),
``POSITION(k)`` gives the onset tick inside the bar (ticks of 1/12 beat, a beat being a
quarter note) before the first note of each onset, and a note is ``PITCH, VELOCITY, DURATION``;
the notes of one onset come in rising pitch. Because a note carries its length, nothing decoded
from tokens can be left sounding.

One state machine, :class:`Cursor`, reads every token: the encoder checks its output with it,
the decoder turns tokens into notes with it, and the sampler asks it what may come next.

This module is the codec's front door: besides the writer, ``encode``, ``decode`` and ``tail``
it re-exports the names of the modules the codec is built from, so ``codec.X`` reaches them all:
:mod:`.notes` (``Note`` and note arithmetic), :mod:`.meter` (``Meter``), :mod:`.vocabulary`
(token ids and bins) and :mod:`.cursor` (the grammar).
"""

from __future__ import annotations

from .cursor import (
    AFTER_BAR,
    AFTER_NOTE,
    AFTER_PITCH,
    AFTER_POSITION,
    AFTER_VELOCITY,
    START,
    Cursor,
)
from .meter import MAX_BAR_TICKS, Meter
from .notes import (
    PITCH_HIGH,
    PITCH_LOW,
    TICKS_PER_BEAT,
    Note,
    merge_unisons,
    rebase,
    transpose,
    transpose_pitch,
)
from .vocabulary import (
    BAR,
    BAR_MINOR,
    BARS,
    DURATION_BASE,
    DURATIONS,
    MODAL_VOCAB_SIZE,
    PAD,
    PITCH_BASE,
    POSITION_BASE,
    VELOCITY_BASE,
    VELOCITY_BINS,
    VOCAB_SIZE,
    bin_velocity,
    describe,
    duration_token,
    pitch_token,
    position_token,
    quantize,
    quantize_duration,
    velocity_bin,
    velocity_token,
    vocabulary_spec,
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
