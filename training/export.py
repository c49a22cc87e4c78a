"""A fitted model written as a preset: held-out losses against a Markov baseline, the card, the loss plot.

A fine-tune's preset also says what it came from, and how its base scores on the same held-out
files; where the base carries held-out pieces of its own (a bundled preset's ``calls/``), how
much of the base's style the fine-tune forgot.
"""

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
from livegen.evaluate.calls import CALLS_FOLDER
from livegen.model import preset
from livegen.music import codec
from livegen.music.key import tells_mode
from livegen.training.checkpoint import Progress, base_record
from livegen.training.config import TrainConfig, vocab_size
from livegen.training.dataset import TokenStore, make_tf_dataset, select_streams, write_token_store
from livegen.training.midi_folder import IngestReport, read_folder
from livegen.training.model import build_model, export_weights, import_weights, model_dims
from livegen.training.preparation import TrainingData, relative_name

KEY_MODE_WORDS = {
    "canonical": "each piece transposed to C major / A minor by its estimated key",
    "canonical+mode": "each piece transposed to C major / A minor by its estimated key; a minor "
                      "piece's bars open with a minor bar token (at play time, the call's mode)",
    "as-is": "as written",
}


def loss_per_token(model: keras.Model, store: TokenStore, streams, config: TrainConfig) -> float:
    """Mean negative log-likelihood (nats) of every target of the ``streams`` of ``store``."""
    dataset = make_tf_dataset(store, streams, config.seq_len, config.batch, shuffle=False, seed=config.seed,
                              hear_voices=config.voices)

    # Traced once for any batch size: the last, smaller batch and each model evaluated add no traces.
    @tf.function(input_signature=list(dataset.element_spec))
    def weighted_sum(inputs, targets, weights):
        logits = model(inputs, training=False)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        return tf.reduce_sum(losses * weights)

    total = 0.0
    for inputs, targets, weights in dataset:
        total += float(weighted_sum(inputs, targets, weights))
    return total / store.targets(streams)


def preset_model(config: TrainConfig, weights: dict) -> keras.Model:
    """A Keras model of the configured size holding a preset's ``weights``, to evaluate it."""
    model = build_model(vocab_size(config), config.embedding, config.hidden, config.layers, voices=config.voices)
    import_weights(model, weights)
    return model


def folder_loss(models: dict, folder: Path, config: TrainConfig, tokens_path: Path) -> dict:
    """Each of ``models``' loss (nats per token) on the pieces of ``folder`` as trained (no transpositions)."""
    report = IngestReport(folder)
    store = write_token_store(read_folder(report, progress=False), tokens_path, config.key_mode, augment=0)
    streams, _ = select_streams(store.files, augmented=False)
    if not len(streams):
        return {}
    return {name: loss_per_token(model, store, streams, config) for name, model in models.items()}


def base_metrics(model, base, config: TrainConfig, data: TrainingData, log) -> dict:
    """The base preset's loss on this fine-tune's held-out files, and both models' loss on the base's
    own held-out pieces (``calls/``, where the base has them): what the fine-tune forgot."""
    log(f"evaluating the base preset {base.name!r} on the same held-out files")
    unchanged = preset_model(config, base.weights)
    metrics = {"base_val_loss_per_token": loss_per_token(unchanged, data.store, data.val_streams, config)}
    calls = base.path / CALLS_FOLDER
    if calls.is_dir():
        log(f"evaluating both on {base.name!r}'s own held-out pieces ({CALLS_FOLDER}/): what the fine-tune forgot")
        # Their tokens go beside the folder's, into the run's temporary folder.
        tokens = data.store.path.with_name("base-calls.bin")
        losses = folder_loss({"before": unchanged, "after": model}, calls, config, tokens)
        metrics.update({f"base_style_loss_per_token_{when}": loss for when, loss in losses.items()})
    return metrics


def export(
    folder: Path, out_dir: Path, config: TrainConfig, data: TrainingData, model, progress: Progress, log,
    base=None,
) -> Path:
    """Evaluate, then write ``preset.json``, ``weights.npz``, ``README.md`` and ``loss.png``;
    ``base``: the preset a fine-tune started from."""
    log("evaluating the model and the order-3 Markov baseline on the held-out files")
    metrics = {
        "val_loss_per_token": loss_per_token(model, data.store, data.val_streams, config),
        "train_loss_per_token": loss_per_token(model, data.store, data.train_streams, config),
        "markov3_val_loss_per_token": MarkovModel(vocab_size(config)).fit(
            data.store.streams(data.train_streams)
        ).loss_per_token(data.store.streams(data.val_streams)),
    }
    if base is not None:
        metrics.update(base_metrics(model, base, config, data, log))
    epochs_run = len(progress.history["loss"])
    trained_targets = data.store.targets(data.train_streams) * epochs_run
    how = "trained" if base is None else f"fine-tuned from {base.name}"
    config_dict = {
        "name": out_dir.name,
        "description": (
            f"{config.layers}-layer {config.hidden}-unit LSTM {how} on {data.files_used} files "
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
    if base is not None:
        config_dict["base"] = base_record(base)
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
    base = config.get("base")
    return f"""# {config['name']}

{config['description']}.
{_base_section(base) if base else ""}
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
| this LSTM (training files) | {metrics['train_loss_per_token']:.4f} |{_base_rows(base, metrics) if base else ""}

The LSTM {verdict} the order-3 Markov baseline on the held-out files.{_base_words(base, metrics) if base else ""}

![loss](loss.png)
"""


def _base_section(base: dict) -> str:
    return f"""
## Fine-tuned from `{base['name']}`

It started from the preset `{base['name']}` ({base['description'] or 'no description'}): its weights,
vocabulary, key handling and size. That preset learned from data with hash `{base['data_hash'] or 'unknown'}`;
its weights' SHA-256 is `{base['weights_sha256']}`.
"""


def _base_rows(base: dict, metrics: dict) -> str:
    rows = f"\n| the base `{base['name']}`, unchanged (validation files) | {metrics['base_val_loss_per_token']:.4f} |"
    if "base_style_loss_per_token_after" in metrics:
        rows += (f"\n| the base `{base['name']}`, unchanged (its own held-out pieces, `{CALLS_FOLDER}/`) | "
                 f"{metrics['base_style_loss_per_token_before']:.4f} |"
                 f"\n| this LSTM (`{base['name']}`'s held-out pieces, `{CALLS_FOLDER}/`) | "
                 f"{metrics['base_style_loss_per_token_after']:.4f} |")
    return rows


def _base_words(base: dict, metrics: dict) -> str:
    gain = metrics["base_val_loss_per_token"] - metrics["val_loss_per_token"]
    words = (f" On the held-out files, fine-tuning moved the loss from the base's "
             f"{metrics['base_val_loss_per_token']:.4f} to {metrics['val_loss_per_token']:.4f} "
             f"({'lower by' if gain > 0 else 'higher by'} {abs(gain):.4f}).")
    if "base_style_loss_per_token_after" in metrics:
        forgot = metrics["base_style_loss_per_token_after"] - metrics["base_style_loss_per_token_before"]
        words += (f" On `{base['name']}`'s own held-out pieces it went from "
                  f"{metrics['base_style_loss_per_token_before']:.4f} to "
                  f"{metrics['base_style_loss_per_token_after']:.4f}: the fine-tune "
                  f"{'forgot' if forgot > 0 else 'lost nothing of'} the base's style"
                  f"{f' by {forgot:.4f} nats a token' if forgot > 0 else ''}.")
    return words


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
