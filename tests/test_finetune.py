"""Fine-tuning: a preset's weights into Keras and back, training on from a base, its checks, resume, card."""

import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from click.testing import CliRunner

from livegen.cli import cli
from livegen.model import preset, untrained
from livegen.music import codec, voices
from livegen.music.midifile import write_midi
from tests.test_training import TINY, tune
from livegen.training.checkpoint import work_dir
from livegen.training.config import TrainConfig, TrainingError, fine_tune_config
from livegen.training.model import build_model, export_weights, import_weights
from livegen.training.trainer import train

FIT = dict(seq_len=32, batch=4, val_split=0.25)  # a tiny fine-tune's windows and split, as TINY's


def waltz(tonic: int, seed: int) -> list[codec.Note]:
    """A 3/4 tune of eighth notes in ``tonic`` minor: another style than the base's 4/4 quarters."""
    rng = np.random.default_rng(seed)
    steps = (0, 2, 3, 5, 7, 8, 11, 12)
    return [codec.Note(bar * 36 + eighth * 6, tonic + 60 + steps[int(rng.integers(len(steps)))], 70, 6)
            for bar in range(8) for eighth in range(6)]


def write_folder(folder, tunes, beats):
    folder.mkdir()
    for index, notes in enumerate(tunes):
        write_midi(folder / f"tune{index}.mid", [("piano", notes, 0)], codec.Meter.of_beats(beats), 120.0)
    return folder


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEGEN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny preset trained here on 4/4 major tunes, carrying two of them as its held-out pieces."""
    root = tmp_path_factory.mktemp("base")
    folder = write_folder(root / "major", [tune(tonic, seed=index) for index, tonic in enumerate((0, 2, 5, 7, 9, 4))], 4)
    out = train(folder, root / "base", TrainConfig(**{**TINY, "epochs": 3, "learning_rate": 0.01}),
                log=lambda line: None)
    (out / "calls").mkdir()
    for name in ("tune0.mid", "tune1.mid"):
        shutil.copyfile(folder / name, out / "calls" / name)
    return preset.load(str(out))


@pytest.fixture(scope="module")
def own_folder(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("own") / "waltzes",
                        [waltz(tonic, seed=index) for index, tonic in enumerate((9, 4, 2, 7, 0, 5))], 3)


@pytest.fixture(scope="module")
def fine_tuned(base, own_folder, tmp_path_factory):
    out = train(own_folder, tmp_path_factory.mktemp("tuned") / "mine", fine_tune_config(base.config, epochs=3, **FIT),
                log=lambda line: None, base=base)
    return preset.load(str(out))


@pytest.mark.parametrize("hears_voices", [True, False])
def test_import_weights_is_the_inverse_of_export_weights(hears_voices):
    dims = {"embedding": 8, "hidden": 12, "layers": 2, **({"voices": voices.SCHEME} if hears_voices else {})}
    weights = untrained.random_weights(dims, seed=4, scale=0.3, vocab=codec.MODAL_VOCAB_SIZE)
    model = build_model(codec.MODAL_VOCAB_SIZE, 8, 12, 2, voices=hears_voices)
    import_weights(model, weights)
    exported = export_weights(model)
    assert sorted(exported) == sorted(weights)
    assert all(np.array_equal(exported[name], weights[name]) for name in weights)
    if hears_voices:  # the padding row a preset leaves out adds nothing
        assert not np.any(model.get_layer("voices").get_weights()[0][voices.PAD])
    with pytest.raises(ValueError, match="do not fit the model: missing none, extra"):
        import_weights(build_model(codec.MODAL_VOCAB_SIZE, 8, 12, 1, voices=hears_voices), weights)


def test_a_fine_tune_keeps_the_base_and_beats_it_on_its_own_held_out_files(base, fine_tuned):
    config = fine_tuned.config
    assert config["model"] == base.config["model"] and config["key_mode"] == base.key_mode
    assert config["vocabulary"] == base.config["vocabulary"]
    assert config["base"]["name"] == "base" and config["base"]["data_hash"] == base.config["data"]["hash"]
    assert config["description"].startswith("1-layer 16-unit LSTM fine-tuned from base on 6 files of waltzes")
    metrics = config["metrics"]
    assert metrics["val_loss_per_token"] < metrics["base_val_loss_per_token"]
    # The base's own held-out pieces were measured before and after: two different models.
    assert metrics["base_style_loss_per_token_before"] != metrics["base_style_loss_per_token_after"]


def test_the_card_says_what_the_fine_tune_came_from_and_shows_both_losses(base, fine_tuned):
    card = (fine_tuned.path / "README.md").read_text()
    metrics = fine_tuned.config["metrics"]
    assert "## Fine-tuned from `base`" in card and base.config["data"]["hash"] in card
    assert base.description in card and fine_tuned.config["base"]["weights_sha256"] in card
    assert f"| this LSTM (validation files) | {metrics['val_loss_per_token']:.4f} |" in card
    assert f"| the base `base`, unchanged (validation files) | {metrics['base_val_loss_per_token']:.4f} |" in card
    assert f"its own held-out pieces, `calls/`) | {metrics['base_style_loss_per_token_before']:.4f} |" in card
    assert f"| this LSTM (`base`'s held-out pieces, `calls/`) | {metrics['base_style_loss_per_token_after']:.4f} |" in card
    assert "fine-tuning moved the loss from the base's" in card


def test_frozen_tables_come_out_as_the_bases_and_the_rest_moves(base, own_folder, tmp_path):
    config = fine_tune_config(base.config, epochs=1, freeze_tables=True, **FIT)
    tuned = preset.load(str(train(own_folder, tmp_path / "frozen", config, log=lambda line: None, base=base)))
    assert np.array_equal(tuned.weights["embedding"], base.weights["embedding"])
    assert np.array_equal(tuned.weights["voices"], base.weights["voices"])
    assert not np.array_equal(tuned.weights["lstm0_kernel"], base.weights["lstm0_kernel"])
    assert np.abs(tuned.weights["lstm0_kernel"] - base.weights["lstm0_kernel"]).max() < 0.1  # moved from it, not anew


@pytest.mark.parametrize("settings, difference", [
    ({"hidden": 32}, "LSTM units: 32 asked, 'base' has 16"),
    ({"layers": 2, "embedding": 8}, "LSTM layers: 2 asked, 'base' has 1"),
    ({"key_mode": "as-is"}, "key handling: 'as-is' asked, 'base' has 'canonical+mode'"),
    ({"voices": False}, "hears voices: False asked, 'base' has True"),
])
def test_settings_that_contradict_the_base_are_refused_by_name(base, settings, difference):
    with pytest.raises(TrainingError, match="keeps the vocabulary, key handling and size") as caught:
        fine_tune_config(base.config, **settings)
    assert difference in str(caught.value)


def test_the_trainer_refuses_a_base_that_does_not_fit_its_config(base, own_folder, tmp_path):
    with pytest.raises(TrainingError, match="cannot fine-tune 'base' with this config: LSTM units: 12 asked"):
        train(own_folder, tmp_path / "mine", TrainConfig(**{**TINY, "hidden": 12}), base=base)


@pytest.mark.parametrize("flags, difference", [
    (["--size", "128"], "LSTM units: 128 asked, 'base' has 16"),
    (["--no-transpose"], "key handling: 'as-is' asked, 'base' has 'canonical+mode'"),
    (["--no-mode-bars"], "key handling: 'canonical' asked, 'base' has 'canonical+mode'"),
    (["--no-voices"], "hears voices: False asked, 'base' has True"),
])
def test_train_from_refuses_flags_that_contradict_the_base(base, own_folder, tmp_path, flags, difference):
    result = CliRunner().invoke(cli, ["train", str(own_folder), "--out", str(tmp_path / "mine"),
                                      "--from", str(base.path), *flags])
    assert result.exit_code == 1 and difference in result.output
    assert not (tmp_path / "mine").exists()


def test_train_from_an_unknown_preset_says_which_there_are(own_folder, tmp_path):
    result = CliRunner().invoke(cli, ["train", str(own_folder), "--out", str(tmp_path / "mine"), "--from", "nosuch"])
    assert result.exit_code == 1 and "no preset called 'nosuch'" in result.output


def test_train_help_documents_from():
    result = CliRunner().invoke(cli, ["train", "--help"])
    assert result.exit_code == 0
    assert "--from PRESET" in result.output and "Fine-tune this preset" in result.output


def test_a_folder_that_does_not_fit_the_bases_vocabulary_is_refused_naming_it(base, tmp_path):
    too_high = write_folder(tmp_path / "high", [[codec.Note(beat * 12, 112 + beat % 3, 80, 12) for beat in range(16)]
                                                for _ in range(3)], 4)
    with pytest.raises(TrainingError) as caught:
        train(too_high, tmp_path / "mine", fine_tune_config(base.config, **FIT), log=lambda line: None, base=base)
    message = str(caught.value)
    assert "do not fit the base preset 'base'" in message and "pitches 21-108" in message
    assert "key handling (canonical+mode)" in message and "tune0.mid: no notes in the piano range" in message


def test_an_interrupted_fine_tune_resumes_only_from_its_base(base, fine_tuned, own_folder, tmp_path):
    out = tmp_path / "mine"
    config = fine_tune_config(base.config, epochs=2, **FIT)

    def interrupt_after_first_epoch(line):
        if line.startswith("epoch 1 checkpointed"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(own_folder, out, config, log=interrupt_after_first_epoch, base=base)
    assert json.loads((work_dir(out) / "base.json").read_text())["name"] == "base"
    with pytest.raises(TrainingError, match="it was fine-tuned from 'base' .*this run would be fine-tuned from 'mine'"):
        train(own_folder, out, config, resume=True, log=lambda line: None, base=fine_tuned)
    with pytest.raises(TrainingError, match="it was fine-tuned from 'base' .*this run would be trained from scratch"):
        train(own_folder, out, config, resume=True, log=lambda line: None)

    flags = [f"--{name.replace('_', '-')}={value}" for name, value in FIT.items()]
    result = CliRunner().invoke(cli, ["train", str(own_folder), "--out", str(out), "--from", str(base.path),
                                      "--epochs", "2", *flags, "--resume"])
    assert result.exit_code == 0, result.output
    assert "resuming after epoch 1" in result.output and "epoch 2 checkpointed" in result.output
    resumed = preset.load(str(out)).config
    assert resumed["training"]["epochs_run"] == 2 and resumed["base"] == fine_tuned.config["base"]


def test_a_checkpoint_from_scratch_is_not_resumed_as_a_fine_tune(base, own_folder, tmp_path):
    out = tmp_path / "scratch"

    def interrupt_after_first_epoch(line):
        if line.startswith("epoch 1 checkpointed"):
            raise KeyboardInterrupt

    config = fine_tune_config(base.config, epochs=2, **FIT)
    with pytest.raises(KeyboardInterrupt):
        train(own_folder, out, config, log=interrupt_after_first_epoch)
    with pytest.raises(TrainingError, match="it was trained from scratch, and this run would be fine-tuned from 'base'"):
        train(own_folder, out, config, resume=True, log=lambda line: None, base=base)
