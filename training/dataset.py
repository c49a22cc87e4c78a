"""From ingested pieces to training batches: key, augmentation, a token file, split, windows, tf.data.

Every piece is encoded once per training run into one flat token file with an index of where
each stream starts; training reads the streams back from disk epoch by epoch, so the memory the
input pipeline holds does not grow with the folder's tokens (windows held in memory would: ~2 KB
each at ``seq_len`` 256). Only the index grows, by a path and a few numbers a file.

Training is teacher-forced on long windows: every position of a window is a target, so one
forward pass trains on up to ``seq_len`` targets (the old notebook spent one 40-token window on
each target). Every window starts on a bar token, where a piece could start, so the model
always begins from the state it is in at the start of a piece.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from livegen.music import codec, voices
from livegen.music.hearing import hearing
from livegen.music.key import Key, estimate_key
from livegen.training.config import TrainingError

TOKEN_DTYPE = np.min_scalar_type(codec.MODAL_VOCAB_SIZE - 1)  # one byte a token on disk
# Windows mixed at once when shuffling (~2 KB each at seq_len 256): a fixed bound, not the corpus.
SHUFFLE_WINDOWS = 2048
BLOCK_WINDOWS = 64  # windows handed from the generator to tf.data at once


@dataclass(frozen=True)
class Window:
    """``seq_len + 1`` tokens (inputs are ``tokens[:-1]``, targets ``tokens[1:]``) and target weights;
    for a model that hears voices, the voices after each input token."""

    tokens: np.ndarray
    weights: np.ndarray
    voices: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One ingested file in a :class:`TokenStore`: its streams, and why some are missing.

    ``streams`` holds the piece as it is trained (canonical key or as written) first, then its
    transpositions. No streams: the piece cannot be encoded at all; one stream and a ``reason``:
    only its transpositions cannot, so it may serve for validation but not for training.
    """

    path: Path
    streams: range
    reason: str = ""
    minor: bool = False  # the piece's estimated key is minor


@dataclass(frozen=True)
class TokenStore:
    """Token streams in one flat file on disk; stream ``i`` is tokens ``offsets[i]:offsets[i + 1]``."""

    path: Path
    files: tuple[StoredFile, ...]
    offsets: np.ndarray
    meters: tuple[codec.Meter, ...] = ()  # stream ``i``'s meter: where its bars fall, so where notes end

    def stream(self, index: int) -> np.ndarray:
        """Stream ``index``, read from disk (not mapped: touched pages would count as memory held)."""
        start, end = int(self.offsets[index]), int(self.offsets[index + 1])
        return np.fromfile(self.path, dtype=TOKEN_DTYPE, count=end - start,
                           offset=start * TOKEN_DTYPE.itemsize)

    def voices(self, index: int, tokens: np.ndarray) -> np.ndarray:
        """What a model hears besides each token of stream ``index`` (``tokens``, as read)."""
        return voices.read(tokens, codec.Cursor(self.meters[index], int(tokens[0])))

    def streams(self, indices):
        """The streams ``indices`` names, one at a time."""
        return (self.stream(index) for index in indices)

    def tokens(self, indices) -> int:
        """How many tokens the streams ``indices`` hold."""
        indices = np.asarray(indices, dtype=np.int64)
        return int(np.sum(self.offsets[indices + 1] - self.offsets[indices]))

    def targets(self, indices) -> int:
        """How many targets training on the streams ``indices`` weighs: all tokens but each stream's first."""
        return self.tokens(indices) - len(indices)


def piece_streams(piece, key_mode: str, augment: int, key: Key | None = None) -> tuple[list[list[int]], str]:
    """Token streams of a piece as trained, then moved by +1, -1, ... ±augment semitones, and why
    the rest could not be made.

    ``key``: the piece's estimated key, when the caller has it already.
    """
    if not piece.notes:
        return [], "it holds no notes"
    heard = hearing(key_mode, piece.notes, key)
    streams: list[list[int]] = []
    try:
        for semitones in [0] + [sign * step for step in range(1, augment + 1) for sign in (1, -1)]:
            streams.append(heard.encode(piece.notes, piece.meter, semitones))
    except ValueError as error:
        return streams[:1], f"cannot be encoded: {error}"
    return streams, ""


def write_token_store(pieces, path, key_mode: str = "canonical", augment: int = 0) -> TokenStore:
    """Encode ``(path, piece)`` pairs one at a time into the token file ``path``; only its index is kept."""
    path = Path(path)
    files: list[StoredFile] = []
    offsets = [0]
    meters: list[codec.Meter] = []
    with open(path, "wb") as handle:
        for source, piece in pieces:
            key = estimate_key(piece.notes) if piece.notes else None
            streams, reason = piece_streams(piece, key_mode, augment, key)
            first = len(offsets) - 1
            for stream in streams:
                handle.write(np.asarray(stream, dtype=TOKEN_DTYPE).tobytes())
                offsets.append(offsets[-1] + len(stream))
                meters.append(piece.meter)
            minor = key is not None and key.mode == "minor"
            files.append(StoredFile(Path(source), range(first, first + len(streams)), reason, minor))
    return TokenStore(path, tuple(files), np.asarray(offsets, dtype=np.int64), tuple(meters))


def select_streams(files, augmented: bool, minor_repeat: int = 1) -> tuple[np.ndarray, list[tuple[Path, str]]]:
    """Stream indices of ``files`` (every transposition, or the piece as trained only) and skipped files.

    A skipped file comes with its reason. A minor piece's streams come ``minor_repeat`` times: a
    collection that is mostly major would otherwise teach a prior that pulls minor answers to major.
    """
    indices: list[int] = []
    skipped: list[tuple[Path, str]] = []
    for stored in files:
        if not stored.streams or (augmented and stored.reason):
            skipped.append((stored.path, stored.reason))
        else:
            chosen = stored.streams if augmented else stored.streams[:1]
            indices.extend(list(chosen) * (minor_repeat if stored.minor else 1))
    return np.asarray(indices, dtype=np.int64), skipped


def split_by_file(items, val_split: float, seed: int) -> tuple[list, list]:
    """``(train, validation)`` items of ``(path, ...)`` pairs, no file in both; same seed, same split."""
    if not 0 <= val_split < 1:
        raise TrainingError(f"val_split must be at least 0 and below 1, got {val_split}")
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
    """Start indices that cover every target, each the latest bar token the previous window reaches.

    A bar longer than ``seq_len`` tokens is the one exception: its overflow is covered by windows
    that start inside it, since skipping those targets would bias training and evaluation.
    """
    bars = np.flatnonzero(np.isin(np.asarray(tokens), codec.BARS))
    starts = [0]
    last_target = len(tokens) - 1
    while starts[-1] + seq_len < last_target:
        reach = starts[-1] + seq_len  # the last target this window covers
        bars_reached = int(np.searchsorted(bars, reach, side="right"))
        latest_bar = int(bars[bars_reached - 1]) if bars_reached else -1
        starts.append(latest_bar if latest_bar > starts[-1] else reach)
    return starts


def chunk_stream(tokens, seq_len: int, heard: np.ndarray | None = None) -> list[Window]:
    """Windows of ``seq_len + 1`` tokens that weigh each target of the stream exactly once.

    Targets a previous window already covered, and pad targets of a short last window, weigh 0.
    ``heard``: the voices after each token of the stream (:meth:`TokenStore.voices`), cut into
    the windows beside their inputs.
    """
    if seq_len < 1:
        raise TrainingError(f"seq_len must be at least 1 token, got {seq_len}")
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
        window_voices = None
        if heard is not None:
            window_voices = np.full((seq_len, voices.WIDTH), voices.PAD, dtype=np.uint8)
            inputs = heard[start:start + seq_len]
            window_voices[:len(inputs)] = inputs
        windows.append(Window(window, weights, window_voices))
    return windows


def make_tf_dataset(store: TokenStore, streams, seq_len: int, batch: int, shuffle: bool, seed: int,
                    hear_voices: bool = False):
    """A ``tf.data`` pipeline of ``(inputs, targets, sample_weights)`` batches of ``streams``, read from disk.

    Shuffled, each epoch takes the streams in a new order and mixes their windows in a buffer of
    ``SHUFFLE_WINDOWS``; unshuffled, windows come stream by stream in the order given. With
    ``hear_voices`` the inputs are ``(tokens, voices)``: the voices are worked out from each
    stream as it is read (one byte a row number, widened to int32 once batched).
    """
    streams = np.asarray(streams, dtype=np.int64)
    rng = np.random.default_rng(seed)

    def window_blocks():
        # Windows go to TensorFlow in blocks: a generator pays ~1 ms an element, not a window.
        block: list[Window] = []
        for index in rng.permutation(streams) if shuffle else streams:
            tokens = store.stream(index)
            block += chunk_stream(tokens, seq_len, store.voices(index, tokens) if hear_voices else None)
            if len(block) >= BLOCK_WINDOWS:
                yield _stacked(block)
                block = []
        if block:
            yield _stacked(block)

    window_spec = tf.TensorSpec((None, seq_len), tf.int32)
    signature = (window_spec, window_spec, tf.TensorSpec((None, seq_len), tf.float32))
    if hear_voices:
        signature += (tf.TensorSpec((None, seq_len, voices.WIDTH), tf.uint8),)
    dataset = tf.data.Dataset.from_generator(window_blocks, output_signature=signature)
    dataset = dataset.unbatch()
    if shuffle:
        dataset = dataset.shuffle(SHUFFLE_WINDOWS, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch)
    if hear_voices:
        dataset = dataset.map(lambda inputs, targets, weights, heard: ((inputs, tf.cast(heard, tf.int32)), targets, weights))
    # Keras sizes its progress bar (and the end of an epoch) by the cardinality a generator hides.
    windows = sum(len(window_starts(stream, seq_len)) for stream in store.streams(streams))
    batches = -(-windows // batch)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches)).prefetch(tf.data.AUTOTUNE)


def _stacked(windows: list[Window]) -> tuple[np.ndarray, ...]:
    """``(inputs, targets, weights)`` of windows, stacked (and their voices, where they have them)."""
    tokens = np.stack([window.tokens for window in windows])
    stacked = (tokens[:, :-1], tokens[:, 1:], np.stack([window.weights for window in windows]))
    if windows[0].voices is not None:
        stacked += (np.stack([window.voices for window in windows]),)
    return stacked
