"""A folder made ready to train on: read, encoded into a token store, split by file, checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livegen.training.config import TrainConfig, TrainingError
from livegen.training.dataset import TokenStore, make_tf_dataset, select_streams, split_by_file, write_token_store
from livegen.training.midi_folder import IngestReport, format_report, read_folder

TOKENS_FILE = "tokens.bin"
MAX_LISTED_REASONS = 20


@dataclass(frozen=True)
class TrainingData:
    """Encoded data of one folder split by file (stream indices into its token store), and what was
    left out and why."""

    store: TokenStore
    train_streams: np.ndarray
    val_streams: np.ndarray
    files_used: int
    skipped: list  # (path, reason)
    hash: str

    def dataset(self, streams, config: TrainConfig, shuffle: bool):
        """The ``tf.data`` batches of ``streams`` (training or validation), read from the store."""
        return make_tf_dataset(self.store, streams, config.seq_len, config.batch, shuffle, config.seed,
                               hear_voices=config.voices)


def prepare_data(folder: Path, config: TrainConfig, tokens_path: Path, log) -> TrainingData:
    """Read and encode every file into a token store at ``tokens_path``, split it by file; raise if too
    little is left."""
    report = IngestReport(folder)
    store = write_token_store(read_folder(report, processes=config.ingest_processes), tokens_path,
                              config.key_mode, config.augment)
    log(format_report(report))
    skipped = list(report.skipped)
    if not store.files:
        raise TrainingError(f"no usable music files in {folder}{_reasons(folder, skipped)}")
    if len(store.files) < 2:
        raise TrainingError(
            f"too little data in {folder}: training needs at least 2 usable files, one of them "
            f"held out for validation, and found {len(store.files)}{_reasons(folder, skipped)}"
        )
    train_files, val_files = split_by_file(
        [(stored.path, stored) for stored in store.files], config.val_split, config.seed
    )
    train_streams, train_failed = select_streams([stored for _, stored in train_files], augmented=True,
                                                 minor_repeat=config.minor_repeat)
    if config.minor_repeat > 1:
        minor = sum(stored.minor for _, stored in train_files)
        log(f"{minor} of {len(train_files)} training files are in minor: each is trained "
            f"{config.minor_repeat} times an epoch")
    # Validation is not augmented: its loss measures the music in the key the model will meet.
    val_streams, val_failed = select_streams([stored for _, stored in val_files], augmented=False)
    skipped += train_failed + val_failed
    if not len(train_streams) or not len(val_streams):
        held = "training" if not len(train_streams) else "validation"
        raise TrainingError(
            f"too little data in {folder}: no {held} file could be encoded; add files or change "
            f"val_split ({config.val_split}){_reasons(folder, skipped)}"
        )
    failed = {str(path) for path, _ in train_failed + val_failed}
    return TrainingData(
        store=store,
        train_streams=train_streams,
        val_streams=val_streams,
        files_used=len({str(stored.path) for stored in store.files} - failed),
        skipped=skipped,
        hash=report.hash,
    )


def _reasons(folder: Path, skipped) -> str:
    """Skipped files and why, as lines to append to a message."""
    if not skipped:
        return ""
    lines = [f"\n  {relative_name(folder, path)}: {reason}" for path, reason in skipped[:MAX_LISTED_REASONS]]
    if len(skipped) > MAX_LISTED_REASONS:
        lines.append(f"\n  ... and {len(skipped) - MAX_LISTED_REASONS} more")
    return ":" + "".join(lines)


def relative_name(folder: Path, path) -> str:
    """A file's name relative to the training folder, so presets do not record local paths."""
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return Path(path).name
