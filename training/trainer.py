"""Train a preset from a folder of music files: ingest, encode, fit with checkpoints, export.

Pieces are encoded into a token file beside the preset (a hidden temporary folder, removed when
the run ends) and streamed from it, so a large folder is never held in memory.

The fit checkpoints the model, its epoch and its loss history into ``<out_dir>.training/`` after
every epoch, so an interrupted run continues with ``resume=True``; the folder is removed once
the preset is written. Losses are in nats per token and are compared with an order-3 Markov
model fitted on the same training streams.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from livegen.music import codec

from livegen.model import preset
from livegen.music.key import KEY_MODES, tells_mode
from livegen.evaluate.baseline import MarkovModel
from training.dataset import (
    TokenStore,
    make_tf_dataset,
    select_streams,
    split_by_file,
    write_token_store,
)
from training.midi_folder import IngestReport, format_report, read_folder
from training.model import build_model, export_weights, model_dims

STRATEGIES = ("default", "mirrored", "multi-worker")
MODEL_FILE = "model.keras"
BEST_WEIGHTS_FILE = "best-weights.npz"
STATE_FILE = "state.json"
TOKENS_FILE = "tokens.bin"
MAX_LISTED_REASONS = 20
KEY_MODE_WORDS = {
    "canonical": "each piece transposed to C major / A minor by its estimated key",
    "canonical+mode": "each piece transposed to C major / A minor by its estimated key; a minor "
                      "piece's bars open with a minor bar token (at play time, the call's mode)",
    "as-is": "as written",
}


class TrainingError(ValueError):
    """Training cannot start or go on; the message says why and what to do."""


# name: (lowest, highest, unit) for the integer settings.
_INTEGER_RANGES = {
    "epochs": (1, 10_000, ""),
    "embedding": (1, 4096, " units"),
    "hidden": (1, 8192, " units"),
    "layers": (1, 16, ""),
    "seq_len": (8, 100_000, " tokens"),
    "batch": (1, 100_000, " windows"),
    "augment": (0, 6, " semitones"),
    "minor_repeat": (1, 8, " times"),
    "patience": (0, 10_000, " epochs"),
    "seed": (0, 2**32 - 1, ""),
}
# Settings a resumed run may change: how long to go on, not what is trained.
RESUMABLE_CHANGES = ("epochs", "max_minutes")


@dataclass(frozen=True)
class TrainConfig:
    """How to train a preset.

    ``strategy`` picks the ``tf.distribute`` engine the model is built and fitted under:
    ``"default"`` (one device, no distribution), ``"mirrored"`` (``MirroredStrategy``: every
    local GPU, ``batch`` split across them) or ``"multi-worker"``
    (``MultiWorkerMirroredStrategy``: the cluster described by the ``TF_CONFIG`` environment
    variable, one process per machine).

    ``max_minutes`` caps the fitting time (all runs of a resumed fit together; 0: no cap): no
    epoch starts that would be expected to end after it. The best epoch's weights are kept.
    """

    epochs: int = 30
    embedding: int = 64
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.1
    seq_len: int = 256
    batch: int = 32
    val_split: float = 0.1
    key_mode: str = "canonical+mode"
    augment: int = 0
    minor_repeat: int = 1
    patience: int = 4
    learning_rate: float = 2e-3
    seed: int = 0
    strategy: str = "default"
    max_minutes: float = 0.0

    def __post_init__(self) -> None:
        for name, (lowest, highest, unit) in _INTEGER_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
                raise TrainingError(f"{name} must be between {lowest} and {highest}{unit}, got {value!r}")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise TrainingError(f"dropout must be at least 0 and below 1, got {self.dropout!r}")
        if not isinstance(self.val_split, (int, float)) or not 0 < self.val_split < 1:
            raise TrainingError(
                f"val_split (the share of files held out for validation) must be above 0 and "
                f"below 1, got {self.val_split!r}"
            )
        if not isinstance(self.learning_rate, (int, float)) or not 0 < self.learning_rate <= 1:
            raise TrainingError(f"learning_rate must be above 0 and at most 1, got {self.learning_rate!r}")
        if self.key_mode not in KEY_MODES:
            raise TrainingError(f"key_mode must be one of {', '.join(KEY_MODES)}, got {self.key_mode!r}")
        if self.strategy not in STRATEGIES:
            raise TrainingError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if isinstance(self.max_minutes, bool) or not isinstance(self.max_minutes, (int, float)) \
                or not 0 <= self.max_minutes <= 100_000:
            raise TrainingError(
                f"max_minutes must be between 0 (no time limit) and 100000, got {self.max_minutes!r}"
            )


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
        return make_tf_dataset(self.store, streams, config.seq_len, config.batch, shuffle, config.seed)


@dataclass
class Progress:
    """Where a fit stands: completed epochs, loss history, fitting time, early-stopping state."""

    epoch: int = 0
    history: dict = dataclasses.field(default_factory=lambda: {"loss": [], "val_loss": []})
    seconds: float = 0.0
    best: float | None = None
    best_epoch: int = 0
    wait: int = 0
    stopped: bool = False
    best_weights: list | None = None


def work_dir(out_dir: Path) -> Path:
    """The sibling folder that holds checkpoints while ``out_dir`` is being trained."""
    return out_dir.parent / f"{out_dir.name}.training"


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


def prepare_data(folder: Path, config: TrainConfig, tokens_path: Path, log) -> TrainingData:
    """Read and encode every file into a token store at ``tokens_path``, split it by file; raise if too
    little is left."""
    report = IngestReport(folder)
    store = write_token_store(read_folder(report), tokens_path, config.key_mode, config.augment)
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
    lines = [f"\n  {_relative(folder, path)}: {reason}" for path, reason in skipped[:MAX_LISTED_REASONS]]
    if len(skipped) > MAX_LISTED_REASONS:
        lines.append(f"\n  ... and {len(skipped) - MAX_LISTED_REASONS} more")
    return ":" + "".join(lines)


def _relative(folder: Path, path) -> str:
    """A file's name relative to the training folder, so presets do not record local paths."""
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return Path(path).name


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
    stopping = _ResumableEarlyStopping(config.patience, progress)
    callbacks = [_FitClock(progress), stopping, _TimeLimit(config.max_minutes, progress, log),
                 _Checkpoint(work, config, data.hash, progress, stopping, log)]
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


def vocab_size(config: TrainConfig) -> int:
    """Tokens the model predicts: the modal vocabulary adds the minor bar."""
    return codec.MODAL_VOCAB_SIZE if tells_mode(config.key_mode) else codec.VOCAB_SIZE


def new_model(config: TrainConfig) -> keras.Model:
    """A compiled model of the configured size; loss weighs each target once (pads weigh 0)."""
    keras.utils.set_random_seed(config.seed)
    model = build_model(vocab_size(config), config.embedding, config.hidden, config.layers, config.dropout)
    model.compile(
        # Clipping keeps a rare exploding LSTM gradient from wrecking an epoch.
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
    )
    return model


class _ResumableEarlyStopping(keras.callbacks.EarlyStopping):
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


class _FitClock(keras.callbacks.Callback):
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


class _TimeLimit(keras.callbacks.Callback):
    """Stops the fit before an epoch that would be expected to end after ``max_minutes``.

    It reads the fitting time of this and earlier runs from ``progress.seconds`` (kept by
    ``_FitClock``), so a resumed fit keeps the same budget; it must come before the checkpoint,
    which records the verdict.
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
        per_epoch = spent / (epoch + 1)
        if spent + per_epoch > self.limit_seconds:
            self.log(f"stopping after epoch {epoch + 1}: {spent / 60:.1f} minutes spent, another "
                     f"epoch would pass the {self.limit_seconds / 60:g}-minute limit")
            self.model.stop_training = True


class _Checkpoint(keras.callbacks.Callback):
    """After each epoch: record progress and save model, best weights and state into ``work``.

    It must come after ``stopping`` in the callback list, so it records that epoch's verdict.
    """

    def __init__(self, work: Path, config: TrainConfig, data_hash: str, progress: Progress,
                 stopping: _ResumableEarlyStopping, log) -> None:
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


def save_checkpoint(
    work: Path, model: keras.Model, progress: Progress, config: TrainConfig, data_hash: str
) -> None:
    """Write model, best weights and state; each file replaces its predecessor only when complete."""
    work.mkdir(parents=True, exist_ok=True)
    model.save(work / f"new-{MODEL_FILE}")
    os.replace(work / f"new-{MODEL_FILE}", work / MODEL_FILE)
    if progress.best_weights is not None:
        with open(work / f"new-{BEST_WEIGHTS_FILE}", "wb") as handle:
            np.savez(handle, *progress.best_weights)
        os.replace(work / f"new-{BEST_WEIGHTS_FILE}", work / BEST_WEIGHTS_FILE)
    state = {
        "config": dataclasses.asdict(config),
        "data_hash": data_hash,
        **{name: value for name, value in dataclasses.asdict(progress).items() if name != "best_weights"},
    }
    (work / f"new-{STATE_FILE}").write_text(json.dumps(state, indent=2), encoding="utf-8")
    os.replace(work / f"new-{STATE_FILE}", work / STATE_FILE)


def load_checkpoint(work: Path, config: TrainConfig, data_hash: str) -> tuple[keras.Model, Progress]:
    """The model and progress saved in ``work``, checked to belong to this config and data."""
    try:
        state = json.loads((work / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise TrainingError(f"nothing to resume: no readable checkpoint in {work} ({error})") from error
    changed = [
        name for name, value in dataclasses.asdict(config).items()
        if name not in RESUMABLE_CHANGES and state["config"].get(name) != value
    ]
    if changed:
        earlier = ", ".join(f"{name}={state['config'].get(name)!r}" for name in changed)
        raise TrainingError(
            f"cannot resume from {work}: it was trained with other settings "
            f"({earlier}); "
            "use those, or train afresh without resume"
        )
    if state["data_hash"] != data_hash:
        raise TrainingError(f"cannot resume from {work}: the training files changed since; train afresh")
    model = keras.models.load_model(work / MODEL_FILE)
    best_weights = None
    if (work / BEST_WEIGHTS_FILE).exists():
        with np.load(work / BEST_WEIGHTS_FILE, allow_pickle=False) as archive:
            best_weights = [archive[f"arr_{index}"] for index in range(len(archive.files))]
    fields = {field.name: state[field.name] for field in dataclasses.fields(Progress) if field.name in state}
    return model, Progress(**fields, best_weights=best_weights)


def loss_per_token(model: keras.Model, data: TrainingData, streams, config: TrainConfig) -> float:
    """Mean negative log-likelihood (nats) of every target of the stored ``streams``."""

    @tf.function(reduce_retracing=True)
    def weighted_sum(inputs, targets, weights):
        logits = model(inputs, training=False)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        return tf.reduce_sum(losses * weights)

    total = 0.0
    for inputs, targets, weights in data.dataset(streams, config, shuffle=False):
        total += float(weighted_sum(inputs, targets, weights))
    return total / data.store.targets(streams)


def export(
    folder: Path, out_dir: Path, config: TrainConfig, data: TrainingData, model, progress: Progress, log
) -> Path:
    """Evaluate, then write ``preset.json``, ``weights.npz``, ``README.md`` and ``loss.png``."""
    log("evaluating the model and the order-3 Markov baseline on the held-out files")
    metrics = {
        "val_loss_per_token": loss_per_token(model, data, data.val_streams, config),
        "train_loss_per_token": loss_per_token(model, data, data.train_streams, config),
        "markov3_val_loss_per_token": MarkovModel(vocab_size(config)).fit(
            data.store.streams(data.train_streams)
        ).loss_per_token(data.store.streams(data.val_streams)),
    }
    epochs_run = len(progress.history["loss"])
    trained_targets = data.store.targets(data.train_streams) * epochs_run
    config_dict = {
        "name": out_dir.name,
        "description": (
            f"{config.layers}-layer {config.hidden}-unit LSTM trained on {data.files_used} files "
            f"of {folder.name}"
        ),
        "vocabulary": codec.vocabulary_spec(tells_mode(config.key_mode)),
        "ticks_per_beat": codec.TICKS_PER_BEAT,
        "model": model_dims(model),
        "key_mode": config.key_mode,
        "data": {
            "files_used": data.files_used,
            "files_skipped": len(data.skipped),
            "skipped": [{"file": _relative(folder, path), "reason": reason} for path, reason in data.skipped],
            "tokens_train": data.store.tokens(data.train_streams),
            "tokens_val": data.store.tokens(data.val_streams),
            "hash": data.hash,
        },
        "training": {
            **dataclasses.asdict(config),
            "epochs_run": epochs_run,
            "seconds": round(progress.seconds, 1),
            "targets_per_second": round(trained_targets / max(progress.seconds, 1e-9), 1),
        },
        "metrics": {name: round(value, 4) for name, value in metrics.items()},
    }
    files = {
        "README.md": model_card(config_dict).encode("utf-8"),
        "loss.png": loss_plot(progress.history),
    }
    return preset.write(out_dir, config_dict, export_weights(model), files)


def model_card(config: dict) -> str:
    """The preset's README: what it learned from, how, and how well against a simple baseline."""
    data, training, metrics = config["data"], config["training"], config["metrics"]
    skipped = "".join(f"\n- `{entry['file']}`: {entry['reason']}" for entry in data["skipped"]) or "\nnone"
    settings = "\n".join(f"| {name} | {value} |" for name, value in training.items())
    beats = metrics["val_loss_per_token"] < metrics["markov3_val_loss_per_token"]
    verdict = "beats" if beats else "does not beat"
    return f"""# {config['name']}

{config['description']}.

## Data

- files used: {data['files_used']}
- tokens: {data['tokens_train']} training, {data['tokens_val']} validation (held-out files)
- key: {KEY_MODE_WORDS[config['key_mode']]}
- data hash: `{data['hash']}`

Skipped files ({data['files_skipped']}):{skipped}

## Model

LSTM language model over the `{config['vocabulary']['name']}` vocabulary ({config['vocabulary']['size']} tokens):
embedding {config['model']['embedding']}, {config['model']['layers']} x LSTM {config['model']['hidden']}.

## Training

| setting | value |
|---|---|
{settings}

Trained {training['epochs_run']} epochs in {training['seconds']} s ({training['targets_per_second']} targets/s).

## Held-out loss (nats per token, lower is better)

| model | loss/token |
|---|---|
| this LSTM (validation files) | {metrics['val_loss_per_token']:.4f} |
| order-3 Markov baseline (validation files) | {metrics['markov3_val_loss_per_token']:.4f} |
| this LSTM (training files) | {metrics['train_loss_per_token']:.4f} |

The LSTM {verdict} the order-3 Markov baseline on the held-out files.

![loss](loss.png)
"""


def loss_plot(history: dict) -> bytes:
    """PNG of training and validation loss per epoch."""
    figure = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    epochs = range(1, len(history["loss"]) + 1)
    axes.plot(epochs, history["loss"], marker="o", label="training")
    axes.plot(epochs, history["val_loss"], marker="o", label="validation")
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("loss (nats per token)")
    axes.legend()
    axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
