"""A fitted model written as a preset: held-out losses against a Markov baseline, the card, the loss plot."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import keras
import tensorflow as tf
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from livegen.evaluate.baseline import MarkovModel
from livegen.model import preset
from livegen.music import codec
from livegen.music.key import tells_mode
from training.checkpoint import Progress
from training.config import TrainConfig, vocab_size
from training.model import export_weights, model_dims
from training.preparation import TrainingData, relative_name

KEY_MODE_WORDS = {
    "canonical": "each piece transposed to C major / A minor by its estimated key",
    "canonical+mode": "each piece transposed to C major / A minor by its estimated key; a minor "
                      "piece's bars open with a minor bar token (at play time, the call's mode)",
    "as-is": "as written",
}


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
            "skipped": [{"file": relative_name(folder, path), "reason": reason} for path, reason in data.skipped],
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
