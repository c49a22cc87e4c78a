"""Train a preset from a folder of music files: ingest, encode, fit with checkpoints, export.

Pieces are encoded into a token file beside the preset (a hidden temporary folder, removed when
the run ends) and streamed from it, so a large folder is never held in memory.

The fit checkpoints the model, its epoch and its loss history into ``<out_dir>.training/`` after
every epoch, so an interrupted run continues with ``resume=True``; the folder is removed once
the preset is written. In a multi-worker fit only the chief writes them (and logs); every other
worker runs the same steps with its writes going to a scratch folder. Losses are in nats per
token and are compared with an order-3 Markov model fitted on the same training streams.

A fine-tune (``base``: a loaded preset) starts from the base's weights, with its vocabulary, key
handling and size (``livegen.training.config.fine_tune_config`` makes such a config); its checkpoint
records the base, and its card compares it with the base on the same held-out files.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import keras
import keras.src.backend.tensorflow.trainer as keras_tf_trainer
import tensorflow as tf

from livegen.training.callbacks import Checkpoint, FitClock, ResumableEarlyStopping, TimeLimit, across_workers
from livegen.training.checkpoint import Progress, base_record, load_checkpoint, record_base, work_dir
from livegen.training.config import STRATEGIES, TrainConfig, TrainingError, base_differences, vocab_size
from livegen.training.export import export
from livegen.training.model import build_model, import_weights
from livegen.training.preparation import TOKENS_FILE, TrainingData, prepare_data


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy a :class:`TrainConfig` names."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "default":
        return tf.distribute.get_strategy()
    raise TrainingError(f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes: always, but in a cluster only its chief (or worker 0 where none is named)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


def train(folder, out_dir, config: TrainConfig = TrainConfig(), resume: bool = False, log=print,
          base=None) -> Path:
    """Train on every usable file of ``folder`` and write the preset to ``out_dir``; with ``base``
    (a loaded :class:`livegen.model.preset.Preset`), fine-tune that preset."""
    folder, out_dir = Path(folder), Path(out_dir)
    if not folder.is_dir():
        raise TrainingError(f"cannot train on {folder}: there is no such folder")
    differences = [] if base is None else base_differences(base.config, dataclasses.asdict(config))
    if differences:
        raise TrainingError(f"cannot fine-tune {base.name!r} with this config: {'; '.join(differences)}")
    strategy = make_strategy(config.strategy)  # first: a multi-worker strategy must precede other TensorFlow work
    if is_chief(strategy):
        return _train(folder, out_dir, config, strategy, resume, log, base)
    with tempfile.TemporaryDirectory(prefix="livegen-worker-") as scratch:
        scratch_out = Path(scratch) / out_dir.name
        if resume and work_dir(out_dir).is_dir():  # the chief's checkpoint, where this worker can see it
            shutil.copytree(work_dir(out_dir), work_dir(scratch_out))
        _train(folder, scratch_out, config, strategy, resume, lambda line: None, base)
    return out_dir


def _train(folder: Path, out_dir: Path, config: TrainConfig, strategy, resume: bool, log, base) -> Path:
    """:func:`train` under ``strategy``, writing the preset and its work folder beside ``out_dir``."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = work_dir(out_dir)
    if base is not None:
        log(f"fine-tuning {base.name!r} ({base.description}): its weights, vocabulary, key handling "
            f"({config.key_mode}) and size; learning rate {config.learning_rate:g}"
            f"{', embedding and voices tables kept' if config.freeze_tables else ''}")
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.tokens-", dir=out_dir.parent) as scratch:
        data = _prepare(folder, config, Path(scratch), log, base)
        log(
            f"{data.files_used} files: {data.store.targets(data.train_streams)} training and "
            f"{data.store.targets(data.val_streams)} validation targets"
        )
        model, progress = fit(data, config, strategy, work, resume, log, base)
        export(folder, out_dir, config, data, model, progress, log, base)
    shutil.rmtree(work, ignore_errors=True)
    log(f"preset written to {out_dir}")
    return out_dir


def _prepare(folder: Path, config: TrainConfig, scratch: Path, log, base) -> TrainingData:
    """:func:`prepare_data`; for a fine-tune, a folder too little of which fits the base says so."""
    try:
        return prepare_data(folder, config, scratch / TOKENS_FILE, log)
    except TrainingError as error:
        if base is None:
            raise
        vocabulary = base.config["vocabulary"]
        low, high = vocabulary["pitch_range"]
        raise TrainingError(
            f"the files of {folder} do not fit the base preset {base.name!r}: a fine-tune hears them in "
            f"its vocabulary ({vocabulary['name']}, {vocabulary['size']} tokens: pitches {low}-{high}, "
            f"bars of at most {vocabulary['max_bar_ticks'] // vocabulary['ticks_per_beat']} beats) with "
            f"its key handling ({base.key_mode}). {error}") from error


def fit(data: TrainingData, config: TrainConfig, strategy: tf.distribute.Strategy, work: Path, resume: bool, log,
        base=None):
    """Fit (or go on fitting) the model under ``strategy``, checkpointing every epoch; ``(model, progress)``.

    ``base``: the preset a fine-tune starts from (None: a model from scratch).
    """
    record = None if base is None else base_record(base)
    with strategy.scope():
        if resume:
            model, progress = load_checkpoint(work, config, data.hash, record)
            log(f"resuming after epoch {progress.epoch} from {work}")
        else:
            if work.exists():
                log(f"starting afresh: discarding the earlier checkpoint in {work}")
                shutil.rmtree(work)
            model, progress = new_model(config, base), Progress()
            if record is not None:
                record_base(work, record)
    stopping = ResumableEarlyStopping(config.patience, progress)
    callbacks = [FitClock(progress), stopping, TimeLimit(config.max_minutes, progress, log),
                 Checkpoint(work, config, data.hash, progress, stopping, log)]
    epochs = progress.epoch if progress.stopped else config.epochs
    training = data.dataset(data.train_streams, config, shuffle=True)
    try:
        with keras_multi_worker_fixes(model, training, strategy):
            model.fit(
                training,
                validation_data=data.dataset(data.val_streams, config, shuffle=False),
                epochs=epochs,
                initial_epoch=progress.epoch,
                callbacks=callbacks,
                shuffle=False,  # the dataset reshuffles itself every epoch
                verbose=(1 if sys.stderr.isatty() else 2) if is_chief(strategy) else 0,
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


@contextmanager
def keras_multi_worker_fixes(model: keras.Model, dataset, strategy: tf.distribute.Strategy):
    """Around a fit across workers, work round Keras 3's two multi-worker bugs (keras-team/keras#20585)."""
    if not across_workers(strategy):
        yield
        return
    # Keras averages a distributed batch across workers to build the model, and fails: build it
    # from a local batch. Keras then averages each logged scalar across workers along an axis it
    # lacks, and fails too; the logs need no averaging, since every metric update is already summed
    # across workers (so every worker logs the same global losses and stops early in step).
    with strategy.scope():
        model._symbolic_build(data_batch=next(iter(dataset)))
    with mock.patch.object(model, "_maybe_symbolic_build"), \
            mock.patch.object(keras_tf_trainer, "_collective_all_reduce_multi_worker", return_value=False):
        yield


def new_model(config: TrainConfig, base=None) -> keras.Model:
    """A compiled model of the configured size, with ``base``'s weights when given (a fine-tune);
    loss weighs each target once (pads weigh 0)."""
    keras.utils.set_random_seed(config.seed)
    keras.mixed_precision.set_global_policy(config.precision)  # layers keep the policy they are built with
    try:
        model = build_model(vocab_size(config), config.embedding, config.hidden, config.layers, config.dropout,
                            voices=config.voices)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if base is not None:
        import_weights(model, base.weights)
    if config.freeze_tables:
        for layer in model.layers:
            if layer.name in ("embedding", "voices"):
                layer.trainable = False
    model.compile(
        # Clipping keeps a rare exploding LSTM gradient from wrecking an epoch.
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
    )
    return model
