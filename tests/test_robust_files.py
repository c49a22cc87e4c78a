"""Presets and recordings under Ctrl-C and a full disk: no half-written file or folder is ever left."""

import errno

import mido
import numpy as np
import pytest

from livegen.music import codec

from livegen.model import preset
from livegen.live.recorder import PLAYER, Recorder
from tests.helpers import random_weights

DIMS = {"embedding": 8, "hidden": 16, "layers": 2}
CONFIG = {"name": "tiny", "description": "for file tests", "vocabulary": codec.vocabulary_spec(),
          "ticks_per_beat": codec.TICKS_PER_BEAT, "model": DIMS, "key_mode": "canonical"}


def disk_full(*_, **__):
    raise OSError(errno.ENOSPC, "No space left on device")


def ctrl_c(*_, **__):
    raise KeyboardInterrupt


def half_then(failure):
    """A np.savez that writes half an archive, then fails as ``failure`` does."""
    def savez(handle, **arrays):
        handle.write(b"PK\x03\x04 half an archive")
        failure()
    return savez


def leftovers(folder):
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


@pytest.mark.parametrize("failure, raised", [(ctrl_c, KeyboardInterrupt), (disk_full, OSError)])
def test_an_interrupted_first_write_leaves_no_preset_at_all(tmp_path, monkeypatch, failure, raised):
    monkeypatch.setattr(np, "savez", half_then(failure))
    with pytest.raises(raised) as error:
        preset.write(tmp_path / "tiny", CONFIG, random_weights(**DIMS), {"README.md": b"card"})
    assert not (tmp_path / "tiny").exists() and leftovers(tmp_path) == []
    if raised is OSError:
        assert error.value.errno == errno.ENOSPC and "No space left on device" in str(error.value)


@pytest.mark.parametrize("failure", [ctrl_c, disk_full])
def test_an_interrupted_overwrite_keeps_the_old_preset_whole(tmp_path, monkeypatch, failure):
    old = preset.write(tmp_path / "tiny", CONFIG, random_weights(**DIMS, seed=1), {"README.md": b"old card"})
    before = {path.name: path.read_bytes() for path in old.iterdir()}
    monkeypatch.setattr(np, "savez", half_then(failure))
    with pytest.raises((KeyboardInterrupt, OSError)):
        preset.write(tmp_path / "tiny", CONFIG, random_weights(**DIMS, seed=2), {"README.md": b"new card"})
    assert {path.name: path.read_bytes() for path in old.iterdir()} == before
    assert leftovers(tmp_path) == []
    assert preset.load(str(old)).weights["dense_bias"].shape == (codec.VOCAB_SIZE,)


@pytest.mark.parametrize("failure", [ctrl_c, disk_full])
def test_a_recording_cut_short_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, failure):
    path = tmp_path / "session.mid"
    path.write_bytes(b"the previous session")
    recorder = Recorder()
    recorder.record(PLAYER, 0.0, mido.Message("note_on", note=60, velocity=90))
    recorder.record(PLAYER, 0.5, mido.Message("note_off", note=60))

    def save(self, file):
        file.write(b"MThd half")
        failure()

    monkeypatch.setattr(mido.MidiFile, "save", save)
    with pytest.raises((KeyboardInterrupt, OSError)):
        recorder.write(path, 120)
    assert path.read_bytes() == b"the previous session"
    assert [p.name for p in tmp_path.iterdir()] == ["session.mid"]
