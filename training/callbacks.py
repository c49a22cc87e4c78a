"""Keras callbacks of a fit: early stopping that resumes, the fit's clock, a time limit, the checkpoint."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import tensorflow as tf

from livegen.training.checkpoint import Progress, save_checkpoint
from livegen.training.config import TrainConfig


def across_workers(strategy: tf.distribute.Strategy) -> bool:
    """Whether ``strategy`` fits in a cluster of several worker processes."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping on validation loss that starts from a checkpoint's best, wait and weights."""

    def __init__(self, patience: int, progress: Progress) -> None:
        super().__init__(monitor="val_loss", patience=patience, restore_best_weights=True)
        self.progress = progress

    def on_train_begin(self, logs=None) -> None:
        super().on_train_begin(logs)
        self.best = self.progress.best
        self.best_epoch = self.progress.best_epoch
        self.wait = self.progress.wait
        self.best_weights = self.progress.best_weights


class FitClock(keras.callbacks.Callback):
    """Adds the fit's working time to ``progress.seconds``, batch by batch.

    A gap longer than ``STALL_SECONDS`` between two batches counts as ``STALL_SECONDS``: the
    process was paused (SIGSTOP, a suspended laptop), and a pause must not eat a time limit.
    It must come first in the callback list, so the others see the time up to their call.
    """

    STALL_SECONDS = 120.0

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress
        self.last = 0.0

    def _tick(self, step_or_epoch=None, logs=None) -> None:
        now = time.perf_counter()
        self.progress.seconds += min(now - self.last, self.STALL_SECONDS)
        self.last = now

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.last = time.perf_counter()

    on_train_batch_end = on_test_batch_end = on_epoch_end = _tick


class TimeLimit(keras.callbacks.Callback):
    """Stops the fit before an epoch that would be expected to end after ``max_minutes``.

    It reads the fitting time of this and earlier runs from ``progress.seconds`` (kept by
    ``FitClock``), so a resumed fit keeps the same budget; it must come before the checkpoint,
    which records the verdict. Across workers it reads the workers' mean time, so that all take
    the same verdict.
    """

    def __init__(self, max_minutes: float, progress: Progress, log) -> None:
        super().__init__()
        self.limit_seconds = 60.0 * max_minutes
        self.progress, self.log = progress, log

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.log(f"epoch {epoch + 1}: loss {logs['loss']:.4f}, validation loss {logs['val_loss']:.4f}")
        if not self.limit_seconds:
            return
        spent = self.progress.seconds
        strategy = self.model.distribute_strategy
        if across_workers(strategy):
            spent = float(strategy.reduce("MEAN", tf.constant(spent, tf.float64), axis=None))
        per_epoch = spent / (epoch + 1)
        if spent + per_epoch > self.limit_seconds:
            self.log(f"stopping after epoch {epoch + 1}: {spent / 60:.1f} minutes spent, another "
                     f"epoch would pass the {self.limit_seconds / 60:g}-minute limit")
            self.model.stop_training = True


class Checkpoint(keras.callbacks.Callback):
    """After each epoch: record progress and save model, best weights and state into ``work``.

    It must come after ``stopping`` in the callback list, so it records that epoch's verdict.
    """

    def __init__(self, work: Path, config: TrainConfig, data_hash: str, progress: Progress,
                 stopping: ResumableEarlyStopping, log) -> None:
        super().__init__()
        self.work, self.config, self.data_hash, self.log = work, config, data_hash, log
        self.progress, self.stopping = progress, stopping

    def on_epoch_end(self, epoch, logs=None) -> None:
        progress = self.progress
        progress.epoch = epoch + 1
        progress.history["loss"].append(float(logs["loss"]))
        progress.history["val_loss"].append(float(logs["val_loss"]))
        stopping = self.stopping
        progress.best = None if stopping.best is None else float(stopping.best)
        progress.best_epoch, progress.wait = stopping.best_epoch, stopping.wait
        progress.best_weights = stopping.best_weights
        progress.stopped = bool(self.model.stop_training)
        save_checkpoint(self.work, self.model, progress, self.config, self.data_hash)
        self.log(f"epoch {progress.epoch} checkpointed in {self.work}")
