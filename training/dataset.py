"""From ingested pieces to training arrays: key, augmentation, split by file, windows, tf.data.

Training is teacher-forced on long windows: every position of a window is a target, so one
forward pass trains on up to ``seq_len`` targets (the old notebook spent one 40-token window on
each target). Every window starts on a ``BAR`` token, where a piece could start, so the model
always begins from the state it is in at the start of a piece.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from livegen import codec
from livegen.key import estimate_key


@dataclass(frozen=True)
class Window:
    """``seq_len + 1`` tokens (inputs are ``tokens[:-1]``, targets ``tokens[1:]``) and target weights."""

    tokens: np.ndarray
    weights: np.ndarray


def piece_transpositions(notes, canonical_key: bool, augment: int) -> list[list[codec.Note]]:
    """The piece moved to its canonical key (or left as is), then by -augment..+augment semitones."""
    base = list(notes)
    if canonical_key:
        base = codec.transpose(base, estimate_key(base).to_canonical())
    shifts = [0] + [sign * step for step in range(1, augment + 1) for sign in (1, -1)]
    return [codec.merge_unisons(codec.transpose(base, shift)) for shift in shifts]


def pieces_to_streams(
    pieces, canonical_key: bool = True, augment: int = 0
) -> tuple[list[list[int]], list[tuple[Path, str]]]:
    """Token streams of ``(path, piece)`` pairs, and ``(path, reason)`` for pieces that cannot be encoded.

    A piece contributes ``1 + 2 * augment`` streams, or none when any of them fails to encode.
    """
    streams: list[list[int]] = []
    skipped: list[tuple[Path, str]] = []
    for path, piece in pieces:
        if not piece.notes:
            skipped.append((path, "it holds no notes"))
            continue
        try:
            versions = [
                codec.encode(notes, piece.meter)
                for notes in piece_transpositions(piece.notes, canonical_key, augment)
            ]
        except ValueError as error:
            skipped.append((path, f"cannot be encoded: {error}"))
            continue
        streams.extend(versions)
    return streams, skipped


def split_by_file(items, val_split: float, seed: int) -> tuple[list, list]:
    """``(train, validation)`` items of ``(path, ...)`` pairs, no file in both; same seed, same split."""
    if not 0 <= val_split < 1:
        raise ValueError(f"val_split must be at least 0 and below 1, got {val_split}")
    files = sorted({str(item[0]) for item in items})
    order = np.random.default_rng(seed).permutation(len(files))
    count = round(val_split * len(files))
    if val_split > 0 and len(files) >= 2:
        count = min(max(count, 1), len(files) - 1)
    validation_files = {files[index] for index in order[:count]}
    train = [item for item in items if str(item[0]) not in validation_files]
    validation = [item for item in items if str(item[0]) in validation_files]
    return train, validation


def window_starts(tokens, seq_len: int) -> list[int]:
    """Start indices that cover every target, each the latest ``BAR`` the previous window reaches.

    A bar longer than ``seq_len`` tokens is the one exception: its overflow is covered by windows
    that start inside it, since skipping those targets would bias training and evaluation.
    """
    bars = [index for index, token in enumerate(tokens) if token == codec.BAR]
    starts = [0]
    last_target = len(tokens) - 1
    while starts[-1] + seq_len < last_target:
        reach = starts[-1] + seq_len  # the last target this window covers
        bars_reached = bisect.bisect_right(bars, reach)
        latest_bar = bars[bars_reached - 1] if bars_reached else -1
        starts.append(latest_bar if latest_bar > starts[-1] else reach)
    return starts


def chunk_stream(tokens, seq_len: int) -> list[Window]:
    """Windows of ``seq_len + 1`` tokens that weigh each target of the stream exactly once.

    Targets a previous window already covered, and pad targets of a short last window, weigh 0.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be at least 1 token, got {seq_len}")
    tokens = np.asarray(tokens, dtype=np.int32)
    windows = []
    covered = 0  # index of the last target already weighted
    for start in window_starts(tokens, seq_len):
        window = np.full(seq_len + 1, codec.PAD, dtype=np.int32)
        piece = tokens[start:start + seq_len + 1]
        window[:len(piece)] = piece
        target_index = start + 1 + np.arange(seq_len)
        weights = ((target_index > covered) & (target_index < len(tokens))).astype(np.float32)
        covered = max(covered, start + len(piece) - 1)
        windows.append(Window(window, weights))
    return windows


def chunk_streams(streams, seq_len: int) -> list[Window]:
    """Windows of every stream, one after another."""
    return [window for stream in streams for window in chunk_stream(stream, seq_len)]


def weighted_targets(windows) -> int:
    """How many targets the windows train on (nonzero weights)."""
    return int(sum(np.count_nonzero(window.weights) for window in windows))


def window_arrays(windows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(inputs, targets, weights)`` stacked over windows."""
    tokens = np.stack([window.tokens for window in windows])
    weights = np.stack([window.weights for window in windows])
    return tokens[:, :-1], tokens[:, 1:], weights


def make_tf_dataset(windows, batch: int, shuffle: bool, seed: int):
    """A ``tf.data`` pipeline of ``(inputs, targets, sample_weights)`` batches, shuffled each epoch."""
    dataset = tf.data.Dataset.from_tensor_slices(window_arrays(windows))
    if shuffle:
        dataset = dataset.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch).prefetch(tf.data.AUTOTUNE)
