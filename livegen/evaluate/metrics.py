"""Measures of one answer: key, grid, density, voices, long notes, echo of the call, bars copied."""

from __future__ import annotations

import numpy as np

from livegen.evaluate.cutting import Call
from livegen.music import codec
from livegen.music.key import Key, in_scale_ratio, key_correlation

LONG_NOTE_TICKS = 4 * codec.TICKS_PER_BEAT
GRID_STEPS = (3, 4)  # sixteenths and eighth triplets, in ticks of 1/12 beat


def answer_metrics(answer, first_bar: int, call: Call, key: Key, bars: int, reference_bars: dict,
                   reference_frame_shift: int) -> dict:
    """Every measure of one answer (notes in the call's frame, from bar ``first_bar`` on)."""
    start = call.meter.bar_start(first_bar)
    bar_ticks = call.meter.bar_ticks(first_bar)
    end = start + bars * bar_ticks
    notes = [note for note in answer if start <= note.onset < end]
    real_density = len(call.continuation) / bars
    density = len(notes) / bars
    bar_counts = np.bincount([(note.onset - start) // bar_ticks for note in notes], minlength=bars)
    total_time = sum(note.duration for note in notes)
    framed = codec.transpose(notes, reference_frame_shift) if reference_frame_shift else notes
    return {
        "key_correlation": key_correlation(key, notes),
        "in_scale": in_scale_ratio(key, notes),
        "on_grid": _share(sum(any((note.onset - start) % step == 0 for step in GRID_STEPS)
                              for note in notes), len(notes)),
        "notes_per_bar": density,
        "density_ratio": density / real_density,
        "polyphony": _polyphony(notes, start, end),
        "long_note_share": _share(sum(note.duration for note in notes
                                      if note.duration > LONG_NOTE_TICKS), total_time),
        "echo": longest_common_run(_pitches(notes), _pitches(call.notes)),
        "copied_bars": _longest_copied_bars(_bar_signatures(framed, start, bar_ticks, bars),
                                            reference_bars),
        "silent": float(_longest_zero_run(bar_counts) >= 2),
        "one_note": float(len({note.pitch for note in notes}) <= 2),
        "wall": float(density > 3 * real_density),
    }


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole else 0.0


def _polyphony(notes, start: int, end: int) -> float:
    """Time-averaged count of sounding notes, over the time anything sounds."""
    sounding = np.zeros(end - start, dtype=np.int32)
    for note in notes:
        sounding[note.onset - start:min(note.end, end) - start] += 1
    busy = sounding[sounding > 0]
    return float(busy.mean()) if busy.size else 0.0


def _pitches(notes) -> list[int]:
    return [note.pitch for note in sorted(notes, key=lambda note: (note.onset, note.pitch))]


def longest_common_run(first, second) -> int:
    """Length of the longest run of consecutive items found in both sequences."""
    best = 0
    previous = [0] * (len(second) + 1)
    for item in first:
        current = [0] * (len(second) + 1)
        for index, other in enumerate(second, start=1):
            if item == other:
                current[index] = previous[index - 1] + 1
                best = max(best, current[index])
        previous = current
    return best


def _longest_zero_run(counts) -> int:
    best = run = 0
    for count in counts:
        run = run + 1 if count == 0 else 0
        best = max(best, run)
    return best


def _bar_signatures(notes, start: int, bar_ticks: int, bars: int) -> list[tuple]:
    """Each bar's notes as ``(position, pitch, duration)`` (durations on the codec's grid)."""
    signatures = [[] for _ in range(bars)]
    for note in notes:
        bar, position = divmod(note.onset - start, bar_ticks)
        if 0 <= bar < bars:
            signatures[bar].append((position, note.pitch, codec.quantize_duration(note.duration)))
    return [tuple(sorted(bar)) for bar in signatures]


def reference_index(pieces) -> dict:
    """Non-empty bar signature -> ``{(piece, bar)}`` over ``(notes, meter)`` pieces."""
    index: dict[tuple, set] = {}
    for number, (notes, meter) in enumerate(pieces):
        if not notes:
            continue
        bars: dict[int, list] = {}
        for note in notes:
            bar, position = meter.locate(note.onset)
            bars.setdefault(bar, []).append(
                (position, note.pitch, codec.quantize_duration(note.duration)))
        for bar, content in bars.items():
            index.setdefault(tuple(sorted(content)), set()).add((number, bar))
    return index


def _longest_copied_bars(signatures, index: dict) -> int:
    """Longest run of consecutive non-empty bars equal to consecutive bars of one reference piece."""
    best = 0
    runs: dict[tuple[int, int], int] = {}
    for signature in signatures:
        places = index.get(signature, ()) if signature else ()
        runs = {(piece, bar): runs.get((piece, bar - 1), 0) + 1 for piece, bar in places}
        best = max(best, max(runs.values(), default=0))
    return best
