"""How to train a preset: every setting checked, with ranges a musician can read."""

from __future__ import annotations

from dataclasses import dataclass

from livegen.errors import LivegenError
from livegen.music import codec
from livegen.music.key import KEY_MODES, tells_mode

STRATEGIES = ("default", "mirrored", "multi-worker")
PRECISIONS = ("float32", "mixed_bfloat16")


class TrainingError(LivegenError, ValueError):
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
    "ingest_processes": (1, 64, " processes"),
}


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
    precision: str = "float32"  # "mixed_bfloat16": bfloat16 arithmetic, float32 weights (fast where the CPU has bf16)
    voices: bool = True  # the model hears what still sounds and what the last onset struck (livegen.music.voices)
    freeze_tables: bool = False  # the token embedding and voices table are not trained (fine-tuning keeps the base's)
    ingest_processes: int = 1  # worker processes reading the folder's files (the parsed cache is shared)

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
        for name in ("voices", "freeze_tables"):
            if not isinstance(getattr(self, name), bool):
                raise TrainingError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.precision not in PRECISIONS:
            raise TrainingError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if isinstance(self.max_minutes, bool) or not isinstance(self.max_minutes, (int, float)) \
                or not 0 <= self.max_minutes <= 100_000:
            raise TrainingError(
                f"max_minutes must be between 0 (no time limit) and 100000, got {self.max_minutes!r}"
            )


def vocab_size(config: TrainConfig) -> int:
    """Tokens the model predicts: the modal vocabulary adds the minor bar."""
    return codec.MODAL_VOCAB_SIZE if tells_mode(config.key_mode) else codec.VOCAB_SIZE


# What a fine-tune takes from its base preset, not from its settings: the vocabulary follows the
# key mode, and the weights fit only a model of the base's size that hears as the base does.
BASE_FIXED = {
    "embedding": "embedding units",
    "hidden": "LSTM units",
    "layers": "LSTM layers",
    "voices": "hears voices",
    "key_mode": "key handling",
}

# How a fine-tune trains unless told otherwise (TrainConfig fields), chosen by
# `scripts/finetune_table.py --search` (BENCHMARKS.md): the chorale preset fine-tuned on 30 Chinese
# folk songs, loss on 20 other songs. Learning rate 0.001 scored best (0.917 nats a token; 0.0003:
# 0.920 and still falling at the 4-minute cap; 0.003: 0.935; 0.0001: 0.988); keeping the embedding
# and voices tables scored worse (0.927) and forgot the chorales hardly less. Batch 32 matched
# batch 8 (0.914) but took 3.9 minutes where batch 8 took 2.8: a small folder gives few windows, and
# batch 8 steps four times as often through them. Patience 4 stopped on the same best epoch as
# patience 8; 8 is kept for folders of 10 files, whose one held-out file gives a noisier loss. The
# epoch cap is high: early stopping (or --max-minutes) ends a fine-tune.
FINE_TUNE = {"learning_rate": 1e-3, "batch": 8, "epochs": 300, "patience": 8, "freeze_tables": False}


def base_settings(base_config: dict) -> dict:
    """The :data:`BASE_FIXED` settings of a preset, read from its ``preset.json``."""
    model = base_config["model"]
    return {"embedding": model["embedding"], "hidden": model["hidden"], "layers": model["layers"],
            "voices": "voices" in model, "key_mode": base_config["key_mode"]}


def base_differences(base_config: dict, settings: dict) -> list[str]:
    """The fixed settings among ``settings`` that differ from the base preset's, in words."""
    fixed = base_settings(base_config)
    return [f"{words}: {settings[name]!r} asked, {base_config['name']!r} has {fixed[name]!r}"
            for name, words in BASE_FIXED.items() if name in settings and settings[name] != fixed[name]]


def fine_tune_config(base_config: dict, **settings) -> TrainConfig:
    """How to fine-tune the preset ``base_config`` describes: its fixed settings, the fine-tune
    recipe, and ``settings`` over the recipe; a fixed setting that differs from the base is refused."""
    differences = base_differences(base_config, settings)
    if differences:
        raise TrainingError(
            f"a fine-tune keeps the vocabulary, key handling and size of its base preset, and these "
            f"settings differ from it: {'; '.join(differences)}. Leave them out, or train from scratch")
    return TrainConfig(**{**FINE_TUNE, **settings, **base_settings(base_config)})
