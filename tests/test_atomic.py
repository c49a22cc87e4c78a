"""Atomic writes: the old file survives an interrupted write, and nothing is left beside it."""

import os

import pytest

from livegen.atomic import atomic_write, replacing, write_atomically


class Interrupted(Exception):
    """Stands for a crash, a full disk or Ctrl-C half-way through a write."""


def test_atomic_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "latency.json"
    target.write_bytes(b"old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["latency.json"]


def test_atomic_write_creates_a_missing_file(tmp_path):
    atomic_write(tmp_path / "new.mid", b"MThd")
    assert (tmp_path / "new.mid").read_bytes() == b"MThd"


def test_an_interrupted_write_leaves_the_old_file_intact_and_no_temporary(tmp_path):
    target = tmp_path / "weights.npz"
    target.write_bytes(b"old weights")

    def half_then_crash(stream):
        stream.write(b"half of the new")
        raise Interrupted

    with pytest.raises(Interrupted):
        write_atomically(target, half_then_crash)
    assert target.read_bytes() == b"old weights"
    assert os.listdir(tmp_path) == ["weights.npz"]


def test_keyboard_interrupt_is_cleaned_up_and_passed_on(tmp_path):
    target = tmp_path / "entry.json"

    def stopped(stream):
        stream.write(b"{")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, stopped)
    assert os.listdir(tmp_path) == []


def test_a_temporary_is_hidden_beside_its_target_and_no_music_file(tmp_path):
    with replacing(tmp_path / "sample.mid") as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".") and temporary.suffix == ".tmp"
        temporary.write_bytes(b"MThd")
    assert os.listdir(tmp_path) == ["sample.mid"]


def test_replacing_takes_the_ending_a_writer_insists_on(tmp_path):
    target = tmp_path / "model.keras"
    with replacing(target, suffix=".keras") as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".keras" and temporary != target
        temporary.write_bytes(b"zip")
    assert target.read_bytes() == b"zip"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_replacing_a_path_the_writer_never_created_leaves_the_old_file(tmp_path):
    target = tmp_path / "state.json"
    target.write_bytes(b"old state")
    with pytest.raises(Interrupted):
        with replacing(target):
            raise Interrupted
    assert target.read_bytes() == b"old state"
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_write_without_sync_replaces_the_file_all_the_same(tmp_path):
    target = tmp_path / "entry.json"
    target.write_bytes(b"old")
    atomic_write(target, b"new", sync=False)
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["entry.json"]
