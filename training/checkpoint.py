"""The resumable work folder of a fit: model, best weights and progress after every epoch.

A fine-tune's folder also records its base preset (:func:`base_record`), so that it is resumed
only from the same base.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from livegen.atomic import atomic_write, replacing, write_atomically
from livegen.training.config import TrainConfig, TrainingError

MODEL_FILE = "model.keras"
BEST_WEIGHTS_FILE = "best-weights.npz"
STATE_FILE = "state.json"
BASE_FILE = "base.json"
# Settings a resumed run may change: how long to go on, not what is trained.
RESUMABLE_CHANGES = ("epochs", "max_minutes", "ingest_processes")


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


def base_record(base) -> dict:
    """What identifies a base preset (a loaded :class:`livegen.model.preset.Preset`): its name,
    description, data hash and a digest of its weights (a retrained preset keeps its name)."""
    digest = hashlib.sha256()
    for name in sorted(base.weights):
        digest.update(name.encode("utf-8"))
        digest.update(base.weights[name].tobytes())
    return {"name": base.name, "description": base.description,
            "data_hash": base.config.get("data", {}).get("hash", ""), "weights_sha256": digest.hexdigest()}


def record_base(work: Path, base: dict) -> None:
    """Note in a fresh work folder which base preset (:func:`base_record`) the fit starts from."""
    work.mkdir(parents=True, exist_ok=True)
    atomic_write(work / BASE_FILE, json.dumps(base, indent=2).encode("utf-8"))


def _check_base(work: Path, base: dict | None) -> None:
    """Refuse to resume a fit from another base preset than it started from (or none)."""
    try:
        started = json.loads((work / BASE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        started = None  # a fit from scratch records no base
    if started == base:
        return

    def words(record):
        if record is None:
            return "trained from scratch"
        return f"fine-tuned from {record['name']!r} (weights {record['weights_sha256'][:12]})"

    raise TrainingError(
        f"cannot resume from {work}: it was {words(started)}, and this run would be {words(base)}; "
        "resume with the same base, or train afresh without resume")


def save_checkpoint(
    work: Path, model: keras.Model, progress: Progress, config: TrainConfig, data_hash: str
) -> None:
    """Write model, best weights and state; each file replaces its predecessor only when complete."""
    work.mkdir(parents=True, exist_ok=True)
    with replacing(work / MODEL_FILE, suffix=".keras") as temporary:
        model.save(temporary)
    if progress.best_weights is not None:
        write_atomically(work / BEST_WEIGHTS_FILE, lambda stream: np.savez(stream, *progress.best_weights))
    state = {
        "config": dataclasses.asdict(config),
        "data_hash": data_hash,
        **{name: value for name, value in dataclasses.asdict(progress).items() if name != "best_weights"},
    }
    atomic_write(work / STATE_FILE, json.dumps(state, indent=2).encode("utf-8"))


def load_checkpoint(work: Path, config: TrainConfig, data_hash: str,
                    base: dict | None = None) -> tuple[keras.Model, Progress]:
    """The model and progress saved in ``work``, checked to belong to this config, data and base
    preset (:func:`base_record`; None: trained from scratch)."""
    try:
        state = json.loads((work / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise TrainingError(f"nothing to resume: no readable checkpoint in {work} ({error})") from error
    _check_base(work, base)
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
