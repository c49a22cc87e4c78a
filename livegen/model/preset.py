"""Preset directories: a trained model that describes itself (preset.json, weights.npz, README.md).

Presets are found by name among the bundled ones (``presets/`` beside the package, or
``LIVEGEN_PRESETS``) or by path. Writing goes to a temporary sibling folder that is renamed into
place, so an interrupted write never leaves half a preset.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import livegen.presets  # data only: found through the import system, installed or editable
from livegen.errors import LivegenError
from livegen.music import codec, voices
from livegen.music.key import KEY_MODES, tells_mode

# 2: a model may hear voices (``model.voices`` names the scheme; ``weights.npz`` holds their
# table). Format 1 presets read as before.
FORMAT_VERSION = 2
CONFIG_NAME = "preset.json"
WEIGHTS_NAME = "weights.npz"
REQUIRED_FIELDS = ("format_version", "name", "vocabulary", "ticks_per_beat", "model", "key_mode")
# The nucleus a preset plays from unless the player says otherwise; a preset may name its own
# (``"sampling": {"top_p": ...}``): one whose style lives in rare tokens, such as a folk tune's
# grace notes, loses them when the tail is cut.
DEFAULT_TOP_P = 0.95


class PresetError(LivegenError, ValueError):
    """A preset cannot be found, read or used; the message says which and why."""


@dataclass(frozen=True)
class Preset:
    """A loaded preset: where it lives, what it says of itself, and its weights."""

    path: Path
    config: dict
    weights: dict

    @property
    def name(self) -> str:
        return self.config["name"]

    @property
    def key_mode(self) -> str:
        return self.config["key_mode"]

    @property
    def description(self) -> str:
        return self.config.get("description", "")

    @property
    def top_p(self) -> float:
        """The top-p this preset plays at when no one asks for another."""
        return sampling_of(self.config, "top_p")

    @property
    def cadence(self) -> bool:
        """Whether this preset's answers close on the tonic chord when no one says otherwise."""
        return sampling_of(self.config, "cadence")

    def top_p_or(self, given: float | None) -> float:
        """The top-p the player gave (``--top-p``), or this preset's own when they gave none."""
        return self.top_p if given is None else given

    def cadence_or(self, given: bool | None) -> bool:
        """Whether answers close as the player said (``--cadence``), or as this preset's own do."""
        return self.cadence if given is None else given


def bundled_dir() -> Path:
    """Where bundled presets live: ``LIVEGEN_PRESETS`` or the installed ``livegen.presets``.

    The repository's top-level ``presets/`` folder is installed under that name (pyproject.toml).
    """
    override = os.environ.get("LIVEGEN_PRESETS")
    if override:
        return Path(override)
    return Path(livegen.presets.__file__).resolve().parent


def find(name_or_path: str) -> Path:
    """The directory of a preset given by bundled name or by path."""
    candidate = Path(name_or_path).expanduser()
    if (candidate / CONFIG_NAME).is_file():
        return candidate
    bundled = bundled_dir() / name_or_path
    if (bundled / CONFIG_NAME).is_file():
        return bundled
    known = ", ".join(sorted(p.name for p in list_presets())) or "none"
    raise PresetError(
        f"no preset called {name_or_path!r}: not a folder with {CONFIG_NAME}, and not a bundled "
        f"preset (bundled: {known}). Train one with 'livegen train FOLDER --out DIR'."
    )


def list_presets() -> list[Path]:
    """Bundled preset directories, sorted by name."""
    return list_folder(bundled_dir())


def list_folder(folder: Path) -> list[Path]:
    """The preset directories directly inside ``folder``, sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / CONFIG_NAME).is_file())


def summary(directory: Path) -> str:
    """One line on a preset: its description, held-out loss, and what its evaluation measured.

    The evaluation is read from ``eval.json`` (written by ``livegen eval --json`` and by the
    bundled presets' model cards) when the preset has one.
    """
    config = read_config(directory)
    parts = [config.get("description", "")]
    metrics = config.get("metrics", {})
    loss, markov = metrics.get("val_loss_per_token"), metrics.get("markov3_val_loss_per_token")
    if isinstance(loss, (int, float)):
        versus = f" (order-3 Markov {markov:.2f})" if isinstance(markov, (int, float)) else ""
        parts.append(f"held-out loss {loss:.2f}/token{versus}")
    try:
        evaluation = json.loads((directory / "eval.json").read_text(encoding="utf-8"))
        model, targets = evaluation["systems"]["model"], evaluation["targets"]
        parts.append(f"answers: key correlation {model['key_correlation']:.2f}, "
                     f"{model['in_scale']:.0%} in scale, {model['notes_per_bar']:.1f} notes a bar; "
                     f"targets met {sum(target['met'] for target in targets)}/{len(targets)}")
        style = evaluation.get("style", {})
        if "accuracy" in style:
            parts.append(f"style: told from the real music {style['accuracy']:.0%} of the time "
                         f"(goal <= {style['target']:.0%})")
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not evaluated (or an evaluation from another version): the rest still says something
    return "; ".join(part for part in parts if part)


SAMPLING_DEFAULTS = {"top_p": DEFAULT_TOP_P, "cadence": True}  # what a preset plays at that says nothing


def sampling_of(config: dict, name: str):
    """The preset ``config`` describes: its ``sampling`` setting ``name`` (the default where it gives
    none; None where its ``sampling`` is no object)."""
    sampling = config.get("sampling", {})
    return sampling.get(name, SAMPLING_DEFAULTS[name]) if isinstance(sampling, dict) else None


def read_config(directory: Path) -> dict:
    """``preset.json`` checked field by field against this version's format."""
    path = directory / CONFIG_NAME
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PresetError(f"cannot read {path}: {error}") from error
    if not isinstance(config, dict):
        raise PresetError(f"{path} must hold a JSON object, got {type(config).__name__}")
    missing = [name for name in REQUIRED_FIELDS if name not in config]
    if missing:
        raise PresetError(f"{path} lacks the field(s) {', '.join(missing)}")
    version = config["format_version"]
    if not isinstance(version, int) or version < 1:
        raise PresetError(f"{path}: format_version must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise PresetError(
            f"{path} has preset format {version}, newer than this livegen reads "
            f"({FORMAT_VERSION}); upgrade livegen"
        )
    if config["key_mode"] not in KEY_MODES:
        raise PresetError(f"{path}: key_mode must be one of {', '.join(KEY_MODES)}, got {config['key_mode']!r}")
    if config["vocabulary"] != codec.vocabulary_spec(tells_mode(config["key_mode"])):
        raise PresetError(
            f"{path}: its vocabulary differs from this livegen's codec "
            f"({config['vocabulary'].get('name') if isinstance(config['vocabulary'], dict) else config['vocabulary']!r}); "
            "retrain the preset with this version"
        )
    model = config["model"]
    if not isinstance(model, dict) or not all(
        isinstance(model.get(k), int) and model[k] > 0 for k in ("embedding", "hidden", "layers")
    ):
        raise PresetError(f"{path}: model must give positive integers embedding, hidden, layers; got {model!r}")
    if model.get("voices", voices.SCHEME) != voices.SCHEME:
        raise PresetError(f"{path}: the model hears voices as {model['voices']!r}; this livegen knows only "
                          f"{voices.SCHEME!r}: upgrade livegen or retrain the preset")
    top_p = sampling_of(config, "top_p")
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise PresetError(f"{path}: sampling must be an object whose top_p is above 0 and at most 1, "
                          f"got {config.get('sampling')!r}")
    if not isinstance(sampling_of(config, "cadence"), bool):
        raise PresetError(f"{path}: sampling's cadence must be true or false, got {config['sampling']['cadence']!r}")
    return config


def expected_arrays(model: dict, vocab: int = codec.VOCAB_SIZE) -> dict[str, tuple[int, ...]]:
    """Array names and shapes a preset's weights.npz must hold for its model dims and vocabulary size."""
    embed, hidden = model["embedding"], model["hidden"]
    shapes = {"embedding": (vocab, embed)}
    if "voices" in model:
        shapes["voices"] = (voices.ROWS, embed)
    for layer in range(model["layers"]):
        inputs = embed if layer == 0 else hidden
        shapes[f"lstm{layer}_kernel"] = (inputs, 4 * hidden)
        shapes[f"lstm{layer}_recurrent"] = (hidden, 4 * hidden)
        shapes[f"lstm{layer}_bias"] = (4 * hidden,)
    shapes["dense_kernel"] = (hidden, vocab)
    shapes["dense_bias"] = (vocab,)
    return shapes


def read_weights(directory: Path, model: dict, vocab: int) -> dict[str, np.ndarray]:
    """Weights as float32 arrays, loaded without pickle and checked against the model dims."""
    path = directory / WEIGHTS_NAME
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise PresetError(f"cannot read {path}: {error}") from error
    shapes = expected_arrays(model, vocab)
    for name, shape in shapes.items():
        if name not in arrays:
            raise PresetError(f"{path} lacks the array {name!r}; the preset is incomplete")
        if arrays[name].shape != shape:
            raise PresetError(f"{path}: array {name!r} has shape {arrays[name].shape}, expected {shape}")
        if not np.all(np.isfinite(arrays[name])):
            raise PresetError(f"{path}: array {name!r} holds NaN or infinite values")
    return {name: arrays[name].astype(np.float32) for name in shapes}


def load(name_or_path: str) -> Preset:
    """Find, validate and load a preset."""
    directory = find(name_or_path)
    config = read_config(directory)
    return Preset(directory, config, read_weights(directory, config["model"], config["vocabulary"]["size"]))


def write(out_dir: Path, config: dict, weights: dict[str, np.ndarray], files: dict[str, bytes]) -> Path:
    """Write a preset atomically: everything into a temporary sibling, then rename into place."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.writing-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; a preset is an ordinary folder
    try:
        config = {"format_version": FORMAT_VERSION, **config}
        (staging / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        with open(staging / WEIGHTS_NAME, "wb") as handle:
            np.savez(handle, **weights)
        for name, content in files.items():
            (staging / name).write_bytes(content)
        checked = read_config(staging)
        read_weights(staging, checked["model"], checked["vocabulary"]["size"])
        _replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _replace_dir(staging: Path, out_dir: Path) -> None:
    """Swap ``staging`` into ``out_dir``; an older preset there is removed only after the swap."""
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rename(out_dir, retired / "preset")
    os.rename(staging, out_dir)
    shutil.rmtree(retired, ignore_errors=True)
