"""Bundled-preset training: the corpus selection, the MIDI export, and the trainer's time limit."""

import pytest

from livegen.music import codec

from livegen.model import preset
from livegen.music.midifile import read_midi, write_midi
from livegen.training import bundled
from livegen.training.checkpoint import work_dir
from livegen.training.config import TrainConfig, TrainingError
from livegen.training.trainer import train
from tests.helpers import phrase

TINY = dict(embedding=8, hidden=16, layers=1, epochs=3, seq_len=32, batch=4, val_split=0.25)
PICKUP_TUNE = "X:1\nT:pickup\nM:4/4\nL:1/4\nK:C\nG|c d e f|g4|]\n"


@pytest.fixture
def music_folder(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    for number, tonic in enumerate((60, 62, 65, 67)):
        write_midi(folder / f"tune{number}.mid", [("tune", phrase(tonic, bars=6), 0)], codec.Meter(), 120.0)
    return folder


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEGEN_CACHE_DIR", str(tmp_path / "cache"))


def test_max_minutes_is_validated():
    with pytest.raises(TrainingError, match="max_minutes must be between 0 .* got -1"):
        TrainConfig(max_minutes=-1)


@pytest.mark.slow
def test_time_limit_stops_the_fit_after_the_epoch_that_reaches_it(music_folder, tmp_path):
    lines = []
    out = train(music_folder, tmp_path / "capped", TrainConfig(**TINY, max_minutes=1e-6), log=lines.append)
    assert preset.load(str(out)).config["training"]["epochs_run"] == 1
    assert any(line.startswith("stopping after epoch 1:") for line in lines)
    assert any(line.startswith("epoch 1: loss ") for line in lines)


@pytest.mark.slow
def test_a_resumed_fit_may_change_its_time_limit(music_folder, tmp_path):
    out = tmp_path / "resumed"

    def interrupt_after_first_epoch(line):
        if line.startswith("epoch 1 checkpointed"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(music_folder, out, TrainConfig(**TINY), log=interrupt_after_first_epoch)
    assert work_dir(out).exists()
    lines = []
    train(music_folder, out, TrainConfig(**TINY, max_minutes=1e-6), resume=True, log=lines.append)
    assert any(line.startswith("stopping after epoch 2:") for line in lines)
    assert preset.load(str(out)).config["training"]["epochs_run"] == 2


def test_chorale_selection_is_the_chorales_without_the_prelude_or_kern_duplicates():
    names = [name for name, _ in bundled.chorale_pieces()]
    assert len(names) == len(set(names)) > 350
    assert "bwv846" not in names and "bwv277" in names


def test_export_writes_pieces_with_their_pickup_and_skips_what_fails(tmp_path):
    from music21 import converter

    def pieces():
        yield "pickup", lambda: converter.parse(PICKUP_TUNE, format="abc")
        yield "broken", lambda: converter.parse("this is no music", format="abc")

    style = bundled.Style("test", "a test", "none", pieces, 10, TrainConfig())
    summary = bundled.export_pieces(style, tmp_path / "work", None, log=lambda line: None)
    assert summary["written"] == 1 and [entry["piece"] for entry in summary["skipped"]] == ["broken"]
    exported = read_midi(tmp_path / "work" / "pickup.mid")
    assert exported.notes[0].onset == 36  # the pickup quarter ends the first bar, off its downbeat
    again = bundled.export_pieces(style, tmp_path / "work", None, log=lambda line: None)
    assert again == summary


def test_the_shipped_calls_leave_out_validation_files_whose_music_was_trained_on(tmp_path):
    from livegen.training.card import _ship_calls
    from livegen.music.midifile import Piece

    def piece(tonic):
        return Piece(phrase(tonic, bars=2), codec.Meter(), 120.0)

    folder = tmp_path / "music"
    folder.mkdir()
    for name in ("a.mid", "b.mid", "c.mid"):
        (folder / name).write_bytes(b"MThd")
    training = [(folder / "a.mid", piece(60))]
    validation = [(folder / "b.mid", piece(60)), (folder / "c.mid", piece(62))]  # b is a under another name
    _ship_calls(validation, training, tmp_path / "calls")
    assert sorted(path.name for path in (tmp_path / "calls").iterdir()) == ["c.mid"]
