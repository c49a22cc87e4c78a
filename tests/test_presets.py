"""Bundled presets load and answer like music; ``livegen eval`` and ``livegen show`` work."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from livegen.music import codec

from livegen.model import preset
from livegen.cli.music import eval_command, show_command
from livegen.evaluate import EvalConfig, evaluate
from livegen.evaluate.answers import SYSTEMS
from livegen.evaluate.cutting import cut_calls
from livegen.evaluate.report import METRICS
from livegen.model.generate import continue_notes
from livegen.music.key import Key, in_scale_ratio, transposes
from livegen.music.midifile import Piece, read_midi, write_midi
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from tests.helpers import phrase, random_weights

# (tonic pitch, minor): E major, F minor, B-flat major: keys off the canonical C major / A minor.
CALL_KEYS = ((64, False), (65, True), (70, False))
SEEDS = (0, 1)
BARS = 4
MIN_NOTES = 8  # per 4 bars: a working preset plays, it does not doodle one note a bar
MIN_IN_SCALE = 0.8  # random weights land near 0.6 (7 or 8 of 12 pitch classes), see below
# target as the evaluation names it: (the model's metric it reads, whether a value meets it)
TARGET_RULES = {
    "mean key correlation >= 0.75": ("key_correlation", lambda value: value >= 0.75),
    ">= 0.9 of note time in the call's scale": ("in_scale", lambda value: value >= 0.9),
    "< 30% of note time in notes > 4 beats": ("long_note_share", lambda value: value < 0.3),
    "density within +-50% of the real continuation's": ("density_ratio", lambda value: 0.5 <= value <= 1.5),
    "no echo longer than 8 pitches": ("echo", lambda value: value <= 8),
    "<= 2 bars copied verbatim": ("copied_bars", lambda value: value <= 2),
}


def answer_in_scale(weights, key_mode: str) -> tuple[float, int]:
    """Mean in-scale share and fewest notes of 4-bar answers to calls in three keys and two seeds."""
    model = StepModel(weights)
    shares, counts = [], []
    for tonic, minor in CALL_KEYS:
        call = phrase(tonic_pitch=tonic, minor=minor, bars=2)
        key = Key(tonic % 12, "minor" if minor else "major")
        for seed in SEEDS:
            answer = continue_notes(model, key_mode, call, codec.Meter(), BARS,
                                    Sampler(SamplingConfig(temperature=0.95, top_p=0.95), seed=seed))
            shares.append(in_scale_ratio(key, answer.notes))
            counts.append(len(answer.notes))
    return float(np.mean(shares)), min(counts)


def test_every_bundled_preset_loads_and_answers_in_the_calls_key():
    directories = preset.list_presets()
    assert "chorale" in {directory.name for directory in directories}
    for directory in directories:
        loaded = preset.load(str(directory))
        assert transposes(loaded.key_mode), f"{directory.name}: a bundled preset follows the call's key"
        assert (directory / "README.md").is_file() and (directory / "loss.png").is_file()
        in_scale, fewest_notes = answer_in_scale(loaded.weights, loaded.key_mode)
        assert fewest_notes >= MIN_NOTES, f"{directory.name}: a {BARS}-bar answer held {fewest_notes} notes"
        assert in_scale >= MIN_IN_SCALE, f"{directory.name}: {in_scale:.2f} of note time in the call's scale"


def test_the_in_scale_threshold_rejects_random_weights():
    in_scale, _ = answer_in_scale(random_weights(hidden=64, seed=3), "canonical")
    assert in_scale < MIN_IN_SCALE


@pytest.fixture
def tiny_preset(tmp_path):
    config = {"name": "tiny", "description": "random weights", "vocabulary": codec.vocabulary_spec(),
              "ticks_per_beat": codec.TICKS_PER_BEAT,
              "model": {"embedding": 8, "hidden": 16, "layers": 2}, "key_mode": "canonical"}
    return preset.write(tmp_path / "tiny", config, random_weights(), {})


@pytest.fixture
def calls_folder(tmp_path):
    folder = tmp_path / "calls"
    folder.mkdir()
    for number, (tonic, minor) in enumerate(CALL_KEYS):
        write_midi(folder / f"tune{number}.mid", [("tune", phrase(tonic, minor, bars=12), 0)],
                   codec.Meter(), 100.0)
    return folder


def test_eval_command_runs_on_a_tiny_preset_and_reports_every_metric(tiny_preset, calls_folder, tmp_path):
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(eval_command, ["--preset", str(tiny_preset), "--calls", str(calls_folder),
                                               "--json", str(out), "--keys", "2", "--seeds", "1"])
    assert result.exit_code == 0, result.output
    assert "key correlation" in result.output
    report = json.loads(out.read_text())
    assert report["answers"] == 3 * 2
    assert set(report["systems"]) == set(SYSTEMS)
    for system in SYSTEMS:
        assert set(METRICS) <= set(report["systems"][system])
    assert report["novelty_reference"] == "the held-out piece only"
    assert "at least 4 held-out pieces" in report["style"]["not_measured"]  # 3 calls: too few to cross-validate
    model = report["systems"]["model"]
    assert [check["target"] for check in report["targets"]] == list(TARGET_RULES)
    for check in report["targets"]:
        metric, is_met = TARGET_RULES[check["target"]]
        assert check["value"] == pytest.approx(model[metric], abs=5e-4), check["target"]
        assert check["met"] is is_met(model[metric]), check["target"]
    assert report["loss"]["model"] > 0
    by_mode = report["key_correlation_by_call_mode"]  # E major, F minor, B-flat major
    assert (by_mode["major"]["calls"], by_mode["minor"]["calls"]) == (2, 1)
    for system in SYSTEMS:
        weighted = (2 * by_mode["major"][system] + by_mode["minor"][system]) / 3
        assert weighted == pytest.approx(report["systems"][system]["key_correlation"])
    assert "| minor calls | 1 |" in result.output


def test_presets_command_lists_a_users_folder_with_its_evaluation(tiny_preset, calls_folder, tmp_path):
    from livegen.cli import cli

    runner = CliRunner()
    evaluated = runner.invoke(eval_command, ["--preset", str(tiny_preset), "--calls", str(calls_folder),
                                             "--json", str(tiny_preset / "eval.json"), "--keys", "1",
                                             "--seeds", "1"])
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads((tiny_preset / "eval.json").read_text())
    listed = runner.invoke(cli, ["presets", str(tiny_preset.parent)])
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if line.startswith(str(tiny_preset)))
    met = sum(target["met"] for target in report["targets"])
    assert "random weights" in line and f"targets met {met}/{len(report['targets'])}" in line
    assert f"key correlation {report['systems']['model']['key_correlation']:.2f}" in line
    bundled = [line.split()[0] for line in listed.output.splitlines()[:len(preset.list_presets())]]
    assert bundled == [directory.name for directory in preset.list_presets()]  # first, by name
    chorale_style = json.loads((preset.find("chorale") / "eval.json").read_text())["style"]
    chorale_line = next(line for line in listed.output.splitlines() if line.startswith("chorale"))
    assert f"style: told from the real music {chorale_style['accuracy']:.0%} of the time" in chorale_line
    missing = runner.invoke(cli, ["presets", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_eval_command_without_calls_names_the_option(tiny_preset):
    result = CliRunner().invoke(eval_command, ["--preset", str(tiny_preset)])
    assert result.exit_code == 1
    assert "--calls FOLDER" in result.output


def test_an_answer_that_repeats_the_call_and_the_training_data_is_caught():
    tune = phrase(64, bars=12)
    piece = Piece(tuple(tune), codec.Meter(), 100.0)

    class Parrot:
        name, key_mode, config = "parrot", "as-is", {}
        weights = random_weights()

    result = evaluate(Parrot(), [("tune", piece)], EvalConfig(keys=1, seeds=1, baseline_keys=0),
                      training_pieces=[("tune", piece)])
    real = result["systems"]["real"]
    # The real continuation is the training piece itself, and the tune repeats its call.
    assert real["copied_bars"] == 8
    assert real["echo"] >= 8
    assert result["loss"]["markov3"] is not None
    assert len(cut_calls([("tune", piece)])) == 1


def test_show_command_writes_a_png(tmp_path):
    midi = tmp_path / "session.mid"
    write_midi(midi, [("call", phrase(bars=2), 0), ("answer", phrase(67, bars=2, start=96), 1)],
               codec.Meter(), 100.0)
    out = tmp_path / "roll.png"
    result = CliRunner().invoke(show_command, [str(midi), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    assert len(read_midi(midi).notes) == 2 * len(phrase(bars=2))


def test_the_density_setting_thins_the_bundled_chorales_answers_and_never_thins_them_above_1():
    chorale = preset.load("chorale")
    model = StepModel(chorale.weights)
    call = phrase(tonic_pitch=64, bars=2)

    def notes_per_bar(density):
        counts = [len(continue_notes(model, chorale.key_mode, call, codec.Meter(), BARS,
                                     Sampler(SamplingConfig(temperature=0.9, top_p=0.95, density=density),
                                             seed=seed)).notes) for seed in (0, 1, 2)]
        return sum(counts) / len(counts) / BARS

    sparse, plain, dense = notes_per_bar(0.3), notes_per_bar(1.0), notes_per_bar(3.0)
    # The chorale preset already sounds four voices on nearly every beat (17.5 notes a bar, Bach's
    # continuations 19.5): above 1 there is no room left, and the knob must at least not thin it.
    assert sparse < 0.8 * plain and dense >= 0.95 * plain, (sparse, plain, dense)


def test_eval_skips_an_unreadable_call_file_with_its_reason(tiny_preset, calls_folder):
    (calls_folder / "broken.mid").write_bytes(b"MThd")
    result = CliRunner().invoke(eval_command, ["--preset", str(tiny_preset), "--calls", str(calls_folder),
                                               "--keys", "1", "--seeds", "1"])
    assert result.exit_code == 0, result.output
    assert "skipped broken.mid: the MIDI file is truncated" in result.output
    for tune in calls_folder.glob("tune*.mid"):
        tune.unlink()
    alone = CliRunner().invoke(eval_command, ["--preset", str(tiny_preset), "--calls", str(calls_folder)])
    assert alone.exit_code == 1 and "none of the 1 .mid files" in alone.output and "broken.mid" in alone.output
