"""Presets: validated on load, written atomically, loaded without pickle."""

import json

import numpy as np
import pytest

from livegen.music import codec, voices

from livegen.model import preset
from tests.helpers import random_weights

DIMS = {"embedding": 8, "hidden": 16, "layers": 2}


def config(**changes):
    base = {"name": "p", "description": "test", "vocabulary": codec.vocabulary_spec(),
            "ticks_per_beat": codec.TICKS_PER_BEAT, "model": DIMS, "key_mode": "canonical"}
    return {**base, **changes}


def write(tmp_path, **changes):
    return preset.write(tmp_path / "p", config(**changes), random_weights(**DIMS), {"README.md": b"# card\n"})


def test_a_written_preset_loads_with_its_weights(tmp_path):
    loaded = preset.load(str(write(tmp_path)))
    assert loaded.name == "p" and loaded.key_mode == "canonical"
    assert set(loaded.weights) == set(preset.expected_arrays(DIMS))
    assert (loaded.path / "README.md").read_text() == "# card\n"
    assert json.loads((loaded.path / "preset.json").read_text())["format_version"] == preset.FORMAT_VERSION


def test_rewriting_replaces_the_old_preset_and_leaves_no_temporary_folders(tmp_path):
    write(tmp_path, description="first")
    write(tmp_path, description="second")
    assert preset.load(str(tmp_path / "p")).description == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["p"]


def test_a_failed_write_leaves_the_old_preset_untouched(tmp_path):
    write(tmp_path, description="good")
    broken = random_weights(**DIMS)
    del broken["dense_bias"]
    with pytest.raises(preset.PresetError, match="lacks the array 'dense_bias'"):
        preset.write(tmp_path / "p", config(description="bad"), broken, {})
    assert preset.load(str(tmp_path / "p")).description == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["p"]


def test_a_preset_that_hears_voices_carries_their_table_and_an_unknown_scheme_is_refused(tmp_path):
    dims = {**DIMS, "voices": voices.SCHEME}
    written = preset.write(tmp_path / "v", config(model=dims), random_weights(**DIMS, voices=True), {})
    loaded = preset.load(str(written))
    assert loaded.weights["voices"].shape == (voices.ROWS, DIMS["embedding"])
    with pytest.raises(preset.PresetError, match="lacks the array 'voices'"):
        preset.write(tmp_path / "w", config(model=dims), random_weights(**DIMS), {})
    data = json.loads((written / "preset.json").read_text())
    data["model"]["voices"] = "every-voice-a-frame"
    (written / "preset.json").write_text(json.dumps(data))
    with pytest.raises(preset.PresetError, match="hears voices as 'every-voice-a-frame'.*upgrade livegen or retrain"):
        preset.load(str(written))


def test_a_preset_plays_at_its_own_top_p_and_a_nonsense_one_is_refused(tmp_path):
    assert preset.load(str(write(tmp_path))).top_p == preset.DEFAULT_TOP_P
    assert preset.load(str(write(tmp_path, sampling={"top_p": 1.0}))).top_p == 1.0
    for sampling in ({"top_p": 0}, {"top_p": 1.5}, {"top_p": "all"}, [1.0]):
        with pytest.raises(preset.PresetError, match="sampling must be an object whose top_p is above 0 and at most 1"):
            write(tmp_path, sampling=sampling)


def test_a_format_1_preset_deaf_to_voices_still_loads(tmp_path):
    path = write(tmp_path)
    data = json.loads((path / "preset.json").read_text())
    data["format_version"] = 1
    (path / "preset.json").write_text(json.dumps(data))
    assert "voices" not in preset.load(str(path)).weights


def test_a_newer_format_asks_for_an_upgrade(tmp_path):
    path = write(tmp_path)
    data = json.loads((path / "preset.json").read_text())
    data["format_version"] = preset.FORMAT_VERSION + 1
    (path / "preset.json").write_text(json.dumps(data))
    with pytest.raises(preset.PresetError, match="newer than this livegen reads .* upgrade livegen"):
        preset.load(str(path))


@pytest.mark.parametrize("field, value, words", [
    ("key_mode", "sideways", "key_mode must be one of"),
    ("model", {"embedding": 8, "hidden": 0, "layers": 2}, "model must give positive integers"),
    ("vocabulary", {"name": "other"}, "vocabulary differs"),
])
def test_bad_fields_are_named(tmp_path, field, value, words):
    path = write(tmp_path)
    data = json.loads((path / "preset.json").read_text())
    data[field] = value
    (path / "preset.json").write_text(json.dumps(data))
    with pytest.raises(preset.PresetError, match=words):
        preset.load(str(path))


def test_a_mode_telling_preset_needs_the_modal_vocabulary_and_its_weights(tmp_path):
    modal = config(key_mode="canonical+mode", vocabulary=codec.vocabulary_spec(modal=True))
    written = preset.write(tmp_path / "modal", modal, random_weights(**DIMS, vocab=codec.MODAL_VOCAB_SIZE), {})
    assert preset.load(str(written)).weights["dense_bias"].shape == (codec.MODAL_VOCAB_SIZE,)
    with pytest.raises(preset.PresetError, match="vocabulary differs"):
        preset.write(tmp_path / "mixed", config(key_mode="canonical+mode"), random_weights(**DIMS), {})
    with pytest.raises(preset.PresetError, match=r"'embedding' has shape \(225, 8\), expected \(226, 8\)"):
        preset.write(tmp_path / "short", modal, random_weights(**DIMS), {})


def test_missing_fields_and_arrays_and_pickles_are_refused(tmp_path):
    path = write(tmp_path)
    data = json.loads((path / "preset.json").read_text())
    del data["model"]
    (path / "preset.json").write_text(json.dumps(data))
    with pytest.raises(preset.PresetError, match="lacks the field"):
        preset.load(str(path))
    path = write(tmp_path)
    weights = random_weights(**DIMS)
    weights["embedding"] = np.array([object()], dtype=object)
    np.savez(path / "weights.npz", **weights)
    with pytest.raises(preset.PresetError, match="cannot read"):
        preset.load(str(path))
    (path / "weights.npz").write_bytes(b"not a zip")
    with pytest.raises(preset.PresetError, match="cannot read"):
        preset.load(str(path))


def test_an_unknown_name_lists_the_bundled_presets(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEGEN_PRESETS", str(tmp_path))
    write(tmp_path)
    with pytest.raises(preset.PresetError, match=r"no preset called 'nope'.*bundled: p\)"):
        preset.load("nope")
    assert preset.load("p").name == "p"


def choice(**given):
    """What a player chose on play's command line: the defaults, and ``given``."""
    from livegen.cli.play_options import SamplingChoice

    return SamplingChoice(**{"temperature": 0.9, "top_p": None, "polyphony": 6, "density": 1.0,
                             "lowest": codec.PITCH_LOW, "highest": codec.PITCH_HIGH, "key_lock": False,
                             "cadence": None, **given})


def test_play_samples_at_the_presets_top_p_unless_the_player_names_one(tmp_path):
    loaded = preset.load(str(write(tmp_path, sampling={"top_p": 1.0})))
    assert choice(top_p=None).config(loaded).top_p == 1.0
    assert choice(top_p=0.8).config(loaded).top_p == 0.8


def test_answers_close_as_the_preset_says_unless_the_player_says_otherwise(tmp_path):
    closing = preset.load(str(write(tmp_path / "closing")))
    assert closing.cadence and choice(cadence=None).config(closing).cadence
    assert not choice(cadence=False).config(closing).cadence
    open_ended = preset.load(str(write(tmp_path / "open", sampling={"cadence": False})))
    assert not choice(cadence=None).config(open_ended).cadence
    assert choice(cadence=True).config(open_ended).cadence
    with pytest.raises(preset.PresetError, match="sampling's cadence must be true or false, got 'yes'"):
        write(tmp_path / "nonsense", sampling={"cadence": "yes"})
