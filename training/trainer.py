"""Train a preset from a folder of music files: ingest, encode, fit with checkpoints, export.

Pieces are encoded into a token file beside the preset (a hidden temporary folder, removed when
the run ends) and streamed from it, so a large folder is never held in memory.

The fit checkpoints the model, its epoch and its loss history into ``<out_dir>.training/`` after
every epoch, so an interrupted run continues with ``resume=True``; the folder is removed once
the preset is written. Losses are in nats per token and are compared with an order-3 Markov
model fitted on the same training streams.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from training.callbacks import Checkpoint, FitClock, ResumableEarlyStopping, TimeLimit
from training.checkpoint import Progress, load_checkpoint, work_dir
from training.config import STRATEGIES, TrainConfig, TrainingError, vocab_size
from training.export import export
from training.model import build_model
from training.preparation import TOKENS_FILE, TrainingData, prepare_data


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy a :class:`TrainConfig` names."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "default":
        return tf.distribute.get_strategy()
    raise TrainingError(f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")


def train(folder, out_dir, config: TrainConfig = TrainConfig(), resume: bool = False, log=print) -> Path:
    """Train on every usable file of ``folder`` and write the preset to ``out_dir``."""
    folder, out_dir = Path(folder), Path(out_dir)
    if not folder.is_dir():
        raise TrainingError(f"cannot train on {folder}: there is no such folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = work_dir(out_dir)
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.tokens-", dir=out_dir.parent) as scratch:
        data = prepare_data(folder, config, Path(scratch) / TOKENS_FILE, log)
        log(
            f"{data.files_used} files: {data.store.targets(data.train_streams)} training and "
            f"{data.store.targets(data.val_streams)} validation targets"
        )
        model, progress = fit(data, config, work, resume, log)
        export(folder, out_dir, config, data, model, progress, log)
    shutil.rmtree(work, ignore_errors=True)
    log(f"preset written to {out_dir}")
    return out_dir


def fit(data: TrainingData, config: TrainConfig, work: Path, resume: bool, log):
    """Fit (or go on fitting) the model, checkpointing every epoch; ``(model, progress)``."""
    strategy = make_strategy(config.strategy)
    with strategy.scope():
        if resume:
            model, progress = load_checkpoint(work, config, data.hash)
            log(f"resuming after epoch {progress.epoch} from {work}")
        else:
            if work.exists():
                log(f"starting afresh: discarding the earlier checkpoint in {work}")
                shutil.rmtree(work)
            model, progress = new_model(config), Progress()
    stopping = ResumableEarlyStopping(config.patience, progress)
    callbacks = [FitClock(progress), stopping, TimeLimit(config.max_minutes, progress, log),
                 Checkpoint(work, config, data.hash, progress, stopping, log)]
    epochs = progress.epoch if progress.stopped else config.epochs
    try:
        model.fit(
            data.dataset(data.train_streams, config, shuffle=True),
            validation_data=data.dataset(data.val_streams, config, shuffle=False),
            epochs=epochs,
            initial_epoch=progress.epoch,
            callbacks=callbacks,
            shuffle=False,  # the dataset reshuffles itself every epoch
            verbose=1 if sys.stderr.isatty() else 2,
        )
    except KeyboardInterrupt:
        if progress.epoch == 0:
            log("interrupted before the first epoch was complete: nothing was saved")
        else:
            log(
                f"interrupted: epochs 1..{progress.epoch} are saved in {work}; run the same "
                "training again with resume (livegen train ... --resume) to continue from there"
            )
        raise
    return model, progress


def new_model(config: TrainConfig) -> keras.Model:
    """A compiled model of the configured size; loss weighs each target once (pads weigh 0)."""
    keras.utils.set_random_seed(config.seed)
    keras.mixed_precision.set_global_policy(config.precision)  # layers keep the policy they are built with
    try:
        model = build_model(vocab_size(config), config.embedding, config.hidden, config.layers, config.dropout)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model.compile(
        # Clipping keeps a rare exploding LSTM gradient from wrecking an epoch.
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
    )
    return model
