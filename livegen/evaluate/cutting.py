"""Calls cut from held-out pieces: a few bars of a piece, its real continuation, and the rest of it."""

from __future__ import annotations

from dataclasses import dataclass

from livegen.evaluate.config import EvalConfig
from livegen.evaluate.features import Excerpt
from livegen.music import codec
from livegen.music.midifile import Piece


@dataclass(frozen=True)
class Call:
    """A call cut from a piece, its real continuation, and the piece, all in one key and frame."""

    name: str
    notes: tuple[codec.Note, ...]
    continuation: tuple[codec.Note, ...]
    piece_notes: tuple[codec.Note, ...]  # the rest of the piece in the call's frame (novelty fallback)
    meter: codec.Meter
    start_bar: int  # the continuation's first bar in the call's frame

    def transposed(self, semitones: int) -> Call:
        return Call(self.name, tuple(codec.transpose(self.notes, semitones)),
                    tuple(codec.transpose(self.continuation, semitones)),
                    tuple(codec.transpose(self.piece_notes, semitones)), self.meter, self.start_bar)


def cut_calls(pieces, config: EvalConfig = EvalConfig()) -> list[Call]:
    """One call per piece (from its second bar, after any pickup), for up to ``max_calls`` pieces.

    ``pieces`` are ``(name, Piece)`` pairs; pieces too short or with an empty call or
    continuation are passed over.
    """
    calls = []
    for name, piece in pieces:
        call = _cut(name, piece, config)
        if call is not None:
            calls.append(call)
        if len(calls) == config.max_calls:
            break
    return calls


def _cut(name: str, piece: Piece, config: EvalConfig) -> Call | None:
    meter, notes = piece.meter, piece.notes
    if not notes:
        return None
    last_bar = meter.locate(max(note.onset for note in notes))[0]
    span = config.call_bars + config.answer_bars
    first = 1 if last_bar + 1 >= span + 1 else 0
    if last_bar + 1 < first + span:
        return None
    start, middle, end = (meter.bar_start(first + bars) for bars in (0, config.call_bars, span))
    bar_ticks = meter.bar_ticks(first)
    if any(meter.bar_ticks(first + bar) != bar_ticks for bar in range(span)):
        return None  # a meter change inside the call or answer: one constant meter keeps it simple
    moved = codec.rebase([note for note in notes if note.onset >= start], start)
    call = tuple(note for note in moved if note.onset < middle - start)
    continuation = tuple(note for note in moved if middle - start <= note.onset < end - start)
    if len(call) < 3 or not continuation:
        return None
    # The fallback novelty reference: the piece without the continuation itself.
    answered = set(continuation)
    elsewhere = tuple(note for note in moved if note not in answered)
    return Call(name, call, continuation, elsewhere, codec.Meter(((0, bar_ticks),)),
                config.call_bars)


def cut_windows(name: str, piece: Piece, call_bars: int, answer_bars: int, hop_bars: int):
    """Calls and their real continuations cut every ``hop_bars`` bars from a piece of one meter.

    Yields ``(call_notes, continuation_excerpt)`` in a frame where the call starts at tick 0.
    """
    meter, notes = piece.meter, piece.notes
    if not notes:
        return
    last_bar = meter.locate(max(note.onset for note in notes))[0]
    span = call_bars + answer_bars
    for first in range(1, last_bar + 2 - span, hop_bars):
        bar_ticks = meter.bar_ticks(first)
        if any(meter.bar_ticks(first + bar) != bar_ticks for bar in range(span)):
            continue
        start = meter.bar_start(first)
        middle, end = call_bars * bar_ticks, span * bar_ticks
        moved = codec.rebase([n for n in notes if n.onset >= start], start)
        call = tuple(n for n in moved if n.onset < middle)
        continuation = tuple(n for n in moved if middle <= n.onset < end)
        if len(call) >= 3 and continuation:
            yield call, Excerpt(continuation, call, middle, answer_bars, bar_ticks, name)
