"""Training: token store, windows, split, key, Markov baseline, config checks, train -> preset, resume."""

import json
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from livegen.music import codec, voices

from livegen.model import preset
from livegen.music.key import Key, estimate_key
from livegen.music.midifile import Piece, write_midi
from livegen.model.runtime import StepModel
from livegen.evaluate.baseline import MarkovModel
from livegen.training.bench_input import bench_input
from livegen.training.dataset import (
    StoredFile,
    chunk_stream,
    make_tf_dataset,
    piece_streams,
    select_streams,
    split_by_file,
    window_starts,
    write_token_store,
)
from livegen.training.checkpoint import work_dir
from livegen.training.config import TrainConfig, TrainingError
from livegen.training.trainer import train

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11, 12)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 11, 12)  # harmonic minor: the leading tone tells it from its relative major
TINY = dict(embedding=8, hidden=16, layers=1, epochs=2, seq_len=32, batch=4, val_split=0.25)


def tune(tonic: int, bars: int = 6, seed: int = 0, mode: str = "major") -> list[codec.Note]:
    """A 4/4 tune in ``tonic`` major (or minor): four quarter notes of its scale a bar over a tonic bass."""
    rng = np.random.default_rng(seed)
    steps = MAJOR_STEPS if mode == "major" else MINOR_STEPS
    notes = []
    for bar in range(bars):
        start = bar * 48
        notes.append(codec.Note(start, tonic + 48, 60, 48))
        for beat in range(4):
            step = steps[int(rng.integers(len(steps)))]
            notes.append(codec.Note(start + beat * 12, tonic + 60 + step, 90, 12))
    return notes


def piece(notes) -> Piece:
    return Piece(tuple(notes), codec.Meter.of_beats(4), 120.0)


@pytest.fixture(scope="module")
def music_folder(tmp_path_factory):
    """Six short tunes in several keys, plus one broken file that must be skipped with a reason."""
    folder = tmp_path_factory.mktemp("music")
    for index, tonic in enumerate((0, 2, 5, 7, 9, 3)):
        write_midi(folder / f"tune{index}.mid", [("piano", tune(tonic, seed=index), 0)],
                   codec.Meter.of_beats(4), 120.0)
    (folder / "broken.mid").write_bytes(b"this is not a MIDI file")
    return folder


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEGEN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("seq_len", [8, 21, 32, 200])
def test_windows_start_on_bar_and_weigh_every_target_exactly_once(seq_len):
    tokens = codec.encode(tune(0, bars=9), codec.Meter.of_beats(4))
    windows = chunk_stream(tokens, seq_len)
    coverage = np.zeros(len(tokens))
    for start, window in zip(window_starts(tokens, seq_len), windows, strict=True):
        assert window.tokens.shape == (seq_len + 1,) and window.weights.shape == (seq_len,)
        targets = window.tokens[1:]
        assert np.all(window.weights[targets == codec.PAD] == 0)
        real = min(seq_len + 1, len(tokens) - start)
        assert list(window.tokens[:real]) == tokens[start:start + real]
        assert np.all(window.tokens[real:] == codec.PAD) and np.all(window.weights[real - 1:] == 0)
        coverage[start + 1:start + real] += window.weights[:real - 1]
    assert coverage[0] == 0 and np.all(coverage[1:] == 1)
    if seq_len >= 20:  # a bar of this tune is 20 tokens: every window can start on BAR
        assert all(window.tokens[0] == codec.BAR for window in windows)
    if seq_len == 200:
        assert len(windows) == 1 and windows[0].tokens[-1] == codec.PAD


def test_tf_dataset_gives_inputs_targets_and_weights(tmp_path):
    store = write_token_store([("a.mid", piece(tune(0, bars=9)))], tmp_path / "tokens.bin")
    batches = list(make_tf_dataset(store, [0], seq_len=32, batch=2, shuffle=True, seed=1))
    inputs, targets, weights = batches[0]
    assert inputs.shape == (2, 32) and targets.shape == (2, 32) and weights.shape == (2, 32)
    assert sum(int(np.count_nonzero(batch[2])) for batch in batches) == store.targets([0])
    assert store.targets([0]) == len(codec.encode(tune(0, bars=9))) - 1


def batch_rows(dataset) -> np.ndarray:
    """Every window of a dataset as one row: inputs, targets and weights side by side."""
    return np.concatenate([np.concatenate([np.asarray(part, dtype=np.float64) for part in batch], axis=1)
                           for batch in dataset])


def test_streamed_windows_are_the_encoded_pieces_split_by_file(tmp_path):
    pieces = [(f"tune{index}.mid", piece(tune(tonic, bars=12, seed=index)))
              for index, tonic in enumerate((0, 2, 5, 7, 9, 4))]
    store = write_token_store(pieces, tmp_path / "tokens.bin", key_mode="canonical", augment=1)
    train_files, val_files = split_by_file([(stored.path, stored) for stored in store.files], 0.34, seed=0)
    train_streams, _ = select_streams([stored for _, stored in train_files], augmented=True)
    val_streams, _ = select_streams([stored for _, stored in val_files], augmented=False)
    val_names = {path.name for path, _ in val_files}
    assert len(val_names) == 2 and len(train_streams) == 3 * 4 and len(val_streams) == 2

    def expected_windows(shifts, held_out):
        """The windows training used to hold in memory: each file's streams, cut one after another."""
        windows = []
        for name, source in pieces:
            if (name in val_names) != held_out:
                continue
            canonical = codec.transpose(source.notes, estimate_key(source.notes).to_canonical())
            for shift in shifts:
                stream = codec.encode(codec.merge_unisons(codec.transpose(canonical, shift)), source.meter)
                windows += chunk_stream(stream, 32)
        return np.stack([np.concatenate([window.tokens[:-1], window.tokens[1:], window.weights])
                         for window in windows])

    train_rows = batch_rows(make_tf_dataset(store, train_streams, 32, 4, shuffle=False, seed=0))
    assert np.array_equal(train_rows, expected_windows((0, 1, -1), held_out=False))
    assert np.array_equal(batch_rows(make_tf_dataset(store, val_streams, 32, 4, shuffle=False, seed=0)),
                          expected_windows((0,), held_out=True))
    shuffled = batch_rows(make_tf_dataset(store, train_streams, 32, 4, shuffle=True, seed=0))
    assert not np.array_equal(shuffled, train_rows)
    assert np.array_equal(np.unique(shuffled, axis=0), np.unique(train_rows, axis=0))
    assert len(shuffled) == len(train_rows)


def synthetic_pieces(count: int):
    """``count`` 20-bar tunes (~400 tokens each), made one at a time as a folder is read."""
    return ((f"tune{index}.mid", piece(tune(index % 12, bars=20, seed=index))) for index in range(count))


def pipeline_peak_bytes(count: int, folder: Path) -> int:
    """Peak Python/numpy memory while ``count`` tunes are encoded to disk and one shuffled epoch is read."""
    tracemalloc.start()
    store = write_token_store(synthetic_pieces(count), folder / f"tokens-{count}.bin")
    streams, _ = select_streams(store.files, augmented=True)
    windows = sum(len(batch[0]) for batch in make_tf_dataset(store, streams, 8, 64, shuffle=True, seed=0))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert windows == sum(len(chunk_stream(stream, 8)) for stream in store.streams(streams))
    return peak


def test_input_pipeline_memory_does_not_grow_with_the_corpus(tmp_path):
    pipeline_peak_bytes(10, tmp_path)  # first use builds TensorFlow's functions: not data
    small, large = pipeline_peak_bytes(10, tmp_path), pipeline_peak_bytes(100, tmp_path)
    # Each added tune is ~400 tokens in ~60 windows: ~25 KB as streams and windows in memory.
    # Only the store's index may grow: a path and a few numbers a file, well under 2 KB.
    assert large - small < 90 * 2048, (small, large)


def test_canonical_key_moves_g_major_to_c_major_and_augment_adds_neighbours():
    g_major = piece(tune(7, bars=8))
    assert estimate_key(g_major.notes) == Key(7, "major")
    streams, reason = piece_streams(g_major, key_mode="canonical", augment=1)
    assert reason == "" and len(streams) == 3
    keys = [estimate_key(codec.decode(stream, g_major.meter)) for stream in streams]
    assert keys == [Key(0, "major"), Key(1, "major"), Key(11, "major")]
    as_is, _ = piece_streams(g_major, key_mode="as-is", augment=0)
    assert estimate_key(codec.decode(as_is[0])) == Key(7, "major")


def test_a_minor_piece_moves_to_a_minor():
    e_minor = piece(tune(4, bars=8, mode="minor"))
    assert estimate_key(e_minor.notes) == Key(4, "minor")
    streams, reason = piece_streams(e_minor, key_mode="canonical", augment=0)
    assert reason == "" and estimate_key(codec.decode(streams[0], e_minor.meter)) == Key(9, "minor")


def test_pieces_without_notes_are_skipped_with_a_reason(tmp_path):
    waltz = Piece((codec.Note(0, 60, 80, 12),), codec.Meter.of_beats(3), 120.0)
    empty = Piece((), codec.Meter(), 120.0)
    store = write_token_store([("waltz.mid", waltz), ("empty.mid", empty)], tmp_path / "tokens.bin")
    streams, skipped = select_streams(store.files, augmented=True)
    assert [list(stream) for stream in store.streams(streams)] == [
        [codec.BAR, codec.position_token(0), codec.pitch_token(60), codec.velocity_token(80),
         codec.duration_token(12)]]
    assert skipped == [(Path("empty.mid"), "it holds no notes")]


def test_a_file_whose_transpositions_fail_is_held_out_but_not_trained_on():
    files = [StoredFile(Path("a.mid"), range(0, 3)),
             StoredFile(Path("b.mid"), range(3, 4), "cannot be encoded: too high"),
             StoredFile(Path("c.mid"), range(4, 4), "it holds no notes")]
    streams, skipped = select_streams(files, augmented=True)
    assert list(streams) == [0, 1, 2]
    assert skipped == [(Path("b.mid"), "cannot be encoded: too high"), (Path("c.mid"), "it holds no notes")]
    streams, skipped = select_streams(files, augmented=False)
    assert list(streams) == [0, 3] and skipped == [(Path("c.mid"), "it holds no notes")]


def test_minor_pieces_are_repeated_in_training_only_and_the_store_knows_their_mode(tmp_path):
    pieces = [("major.mid", piece(tune(7, bars=8))), ("minor.mid", piece(tune(4, bars=8, mode="minor")))]
    store = write_token_store(pieces, tmp_path / "tokens.bin", key_mode="canonical", augment=1)
    assert [stored.minor for stored in store.files] == [False, True]
    streams, _ = select_streams(store.files, augmented=True, minor_repeat=3)
    assert list(streams) == [0, 1, 2] + [3, 4, 5] * 3
    assert list(select_streams(store.files, augmented=False)[0]) == [0, 3]  # as validation takes them


def test_a_mode_telling_store_opens_a_minor_pieces_bars_with_the_minor_bar(tmp_path):
    pieces = [("major.mid", piece(tune(7, bars=8))), ("minor.mid", piece(tune(4, bars=8, mode="minor")))]
    store = write_token_store(pieces, tmp_path / "tokens.bin", key_mode="canonical+mode", augment=1)
    major, minor = ([stream for stream in store.streams(stored.streams)] for stored in store.files)
    assert all(codec.BAR in stream and codec.BAR_MINOR not in stream for stream in major)
    assert all(codec.BAR_MINOR in stream and codec.BAR not in stream for stream in minor)
    plain = write_token_store(pieces, tmp_path / "plain.bin", key_mode="canonical", augment=1)
    assert [list(stream).count(codec.BAR_MINOR) for stream in store.streams(range(6))] == \
        [0, 0, 0] + [list(stream).count(codec.BAR) for stream in plain.streams(range(3, 6))]
    windows = chunk_stream(minor[0], 21)
    assert len(windows) > 2 and all(window.tokens[0] == codec.BAR_MINOR for window in windows)


def test_markov_distribution_is_proper_and_loss_matches_it():
    streams = [codec.encode(tune(tonic, seed=tonic)) for tonic in (0, 2, 4)]
    model = MarkovModel().fit(streams)
    for context in ([], [codec.BAR], streams[0][:7], [codec.BAR, codec.BAR, codec.BAR]):
        probabilities = model.distribution(context)
        assert probabilities.shape == (codec.VOCAB_SIZE,)
        assert abs(probabilities.sum() - 1.0) < 1e-9 and probabilities.min() > 0
    stream = streams[1]
    expected = -np.mean([np.log(model.distribution(stream[:index])[stream[index]])
                         for index in range(1, len(stream))])
    assert model.loss_per_token([stream]) == pytest.approx(expected)
    assert model.loss_per_token([stream]) < np.log(codec.VOCAB_SIZE) / 2


@pytest.mark.parametrize("field, value, message", [
    ("epochs", 0, "epochs must be between 1 and 10000, got 0"),
    ("augment", 9, "augment must be between 0 and 6 semitones, got 9"),
    ("dropout", 1.0, "dropout must be at least 0 and below 1, got 1.0"),
    ("val_split", 0, "val_split (the share of files held out for validation) must be above 0"),
    ("strategy", "gpu", "strategy must be one of default, mirrored, multi-worker, got 'gpu'"),
    ("hidden", True, "hidden must be between 1 and 8192 units, got True"),
    ("precision", "float16", "precision must be one of float32, mixed_bfloat16, got 'float16'"),
])
def test_bad_config_values_are_named(field, value, message):
    with pytest.raises(TrainingError) as caught:
        TrainConfig(**{field: value})
    assert message in str(caught.value)


def test_train_writes_a_preset_the_step_runtime_plays(music_folder, tmp_path):
    lines = []
    out = train(music_folder, tmp_path / "tiny", TrainConfig(**TINY), log=lines.append)
    loaded = preset.load(str(out))
    config = loaded.config
    assert config["model"] == {"embedding": 8, "hidden": 16, "layers": 1, "voices": voices.SCHEME}
    assert config["key_mode"] == "canonical+mode" and config["name"] == "tiny"
    assert config["vocabulary"] == codec.vocabulary_spec(modal=True)
    assert config["data"]["files_used"] == 6 and config["data"]["files_skipped"] == 1
    assert config["data"]["skipped"][0]["file"] == "broken.mid"
    assert config["training"]["epochs_run"] == 2 and config["training"]["targets_per_second"] > 0
    metrics = config["metrics"]
    assert 0 < metrics["val_loss_per_token"] < np.log(codec.MODAL_VOCAB_SIZE)
    assert 0 < metrics["markov3_val_loss_per_token"] < np.log(codec.MODAL_VOCAB_SIZE)
    card = (out / "README.md").read_text()
    assert "![loss](loss.png)" in card and "broken.mid" in card and "minor bar token" in card
    assert (out / "loss.png").read_bytes().startswith(b"\x89PNG")
    assert any("broken.mid" in line for line in lines)
    assert not work_dir(out).exists() and not list(tmp_path.glob(".tiny.tokens-*"))
    runtime = StepModel(loaded.weights)
    tokens = codec.encode(tune(9, mode="minor"), bar_token=codec.BAR_MINOR)
    logits = runtime.feed(tokens, runtime.initial_state(), voices.read(tokens, codec.Cursor(bar_token=codec.BAR_MINOR)))
    assert logits.shape == (codec.MODAL_VOCAB_SIZE,) and np.all(np.isfinite(logits))


def test_a_preset_not_told_the_mode_keeps_the_plain_vocabulary(music_folder, tmp_path):
    out = train(music_folder, tmp_path / "plain", TrainConfig(**TINY, key_mode="canonical"), log=lambda line: None)
    loaded = preset.load(str(out))
    assert loaded.key_mode == "canonical" and loaded.config["vocabulary"] == codec.vocabulary_spec()
    assert loaded.weights["embedding"].shape[0] == codec.VOCAB_SIZE
    assert 0 < loaded.config["metrics"]["markov3_val_loss_per_token"] < np.log(codec.VOCAB_SIZE)


def test_a_bfloat16_fit_exports_float32_weights_the_runtime_plays_as_keras_does(music_folder, tmp_path):
    import keras

    from livegen.training.model import build_model

    out = train(music_folder, tmp_path / "half", TrainConfig(**TINY, precision="mixed_bfloat16"), log=lambda line: None)
    loaded = preset.load(str(out))
    assert loaded.config["training"]["precision"] == "mixed_bfloat16"
    assert all(array.dtype == np.float32 for array in loaded.weights.values())
    assert keras.mixed_precision.global_policy().name == "float32"  # the fit leaves no policy behind
    assert 0 < loaded.config["metrics"]["val_loss_per_token"] < np.log(codec.MODAL_VOCAB_SIZE)
    dims = loaded.config["model"]
    keras_model = build_model(codec.MODAL_VOCAB_SIZE, dims["embedding"], dims["hidden"], dims["layers"], voices=True)
    keras_model.get_layer("embedding").set_weights([loaded.weights["embedding"]])
    padding = np.zeros((1, dims["embedding"]), np.float32)
    keras_model.get_layer("voices").set_weights([np.concatenate([loaded.weights["voices"], padding])])
    keras_model.get_layer("lstm0").set_weights([loaded.weights[f"lstm0_{part}"] for part in ("kernel", "recurrent", "bias")])
    keras_model.get_layer("dense").set_weights([loaded.weights["dense_kernel"], loaded.weights["dense_bias"]])
    tokens = codec.encode(tune(9, mode="minor"), bar_token=codec.BAR_MINOR)[:40]
    heard = voices.read(tokens, codec.Cursor(bar_token=codec.BAR_MINOR))
    expected = keras_model.predict([np.array([tokens]), heard[None].astype(np.int32)], verbose=0)[0, -1]
    runtime = StepModel(loaded.weights)
    assert np.abs(runtime.feed(tokens, runtime.initial_state(), heard) - expected).max() <= 1e-4


def test_interrupted_training_resumes_from_its_checkpoint(music_folder, tmp_path):
    out = tmp_path / "resumed"
    with pytest.raises(TrainingError, match="nothing to resume"):
        train(music_folder, out, TrainConfig(**TINY), resume=True, log=lambda line: None)

    def interrupt_after_first_epoch(line):
        if line.startswith("epoch 1 checkpointed"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(music_folder, out, TrainConfig(**TINY), log=interrupt_after_first_epoch)
    state = json.loads((work_dir(out) / "state.json").read_text())
    assert state["epoch"] == 1 and len(state["history"]["loss"]) == 1 and not out.exists()
    with pytest.raises(TrainingError, match="other settings .*hidden=16"):
        train(music_folder, out, TrainConfig(**{**TINY, "hidden": 12}), resume=True, log=lambda line: None)

    lines = []
    train(music_folder, out, TrainConfig(**TINY), resume=True, log=lines.append)
    assert any(line.startswith("resuming after epoch 1") for line in lines)
    assert [line for line in lines if "checkpointed" in line] == [f"epoch 2 checkpointed in {work_dir(out)}"]
    assert preset.load(str(out)).config["training"]["epochs_run"] == 2


def test_mirrored_strategy_trains_under_tf_distribute(music_folder, tmp_path):
    config = TrainConfig(**{**TINY, "epochs": 1, "strategy": "mirrored"})
    out = train(music_folder, tmp_path / "mirrored", config, log=lambda line: None)
    assert preset.load(str(out)).config["training"]["strategy"] == "mirrored"


WORKER = """
import sys
from livegen.training.config import TrainConfig
from livegen.training.trainer import train
train(sys.argv[1], sys.argv[2], TrainConfig(**eval(sys.argv[3])), log=lambda line: print(line, flush=True))
"""


def free_ports(count: int) -> list[int]:
    """``count`` loopback ports free a moment ago (held together, so all differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for held in sockets:
            held.bind(("127.0.0.1", 0))
        return [held.getsockname()[1] for held in sockets]
    finally:
        for held in sockets:
            held.close()


@pytest.mark.slow
def test_two_workers_train_the_preset_one_process_does(music_folder, tmp_path):
    # A high learning rate, so that four epochs learn far from the untrained loss (~5.4 nats).
    settings = {**TINY, "epochs": 4, "learning_rate": 0.03, "strategy": "multi-worker", "max_minutes": 60.0}
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    out = tmp_path / "cluster" / "two"
    started = time.perf_counter()
    workers, outputs = [], []
    try:
        for index in range(2):
            env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                   "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
            workers.append(subprocess.Popen(
                [sys.executable, "-c", WORKER, str(music_folder), str(out), repr(settings)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path))
        for worker in workers:
            outputs.append(worker.communicate(timeout=90)[0])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    elapsed = time.perf_counter() - started
    chief, other = outputs
    assert f"preset written to {out}" in chief and "epoch 4 checkpointed" in chief
    assert "preset written" not in other and "checkpointed" not in other  # the other worker logs nothing
    assert sorted(path.name for path in out.parent.iterdir()) == ["two"]  # no work folder, tokens or second preset
    two = preset.load(str(out)).config
    assert two["training"]["strategy"] == "multi-worker" and two["training"]["epochs_run"] == 4
    single = preset.load(str(train(music_folder, tmp_path / "single", TrainConfig(**{**settings, "strategy": "default"}),
                                   log=lambda line: None))).config
    # Same seed and global batches (each worker takes half of every batch), gradients averaged across
    # workers; but each worker's loss is the mean over its own half, weighted by that half's
    # targets, so steps differ slightly from the one-process fit and Adam at this rate amplifies
    # that (measured: 2.62 vs 2.49 after 6 epochs); an untrained fit (~5.4) misses by far more.
    assert single["metrics"]["val_loss_per_token"] < 0.7 * np.log(codec.MODAL_VOCAB_SIZE)
    assert two["metrics"]["val_loss_per_token"] == pytest.approx(single["metrics"]["val_loss_per_token"], rel=0.1)
    assert elapsed < 45  # the two workers; the one-process fit takes a third as long


def test_input_bench_reads_every_window_of_a_folder(music_folder):
    result = bench_input(music_folder, TrainConfig(**TINY))
    assert result["files"] == 6 and result["windows"] >= 6 and result["tokens"] > 6 * 100
    assert result["files_per_s"] > 0 and result["windows_per_s"] > 0
    assert result["peak_rss_mb"] >= result["peak_rss_before_mb"] > 0


def test_folders_without_enough_music_are_refused_with_reasons(tmp_path):
    with pytest.raises(TrainingError, match="no such folder"):
        train(tmp_path / "missing", tmp_path / "out", TrainConfig(**TINY))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.mid").write_bytes(b"MThd nonsense")
    with pytest.raises(TrainingError, match=r"no usable music files .*\n  bad.mid: "):
        train(broken, tmp_path / "out", TrainConfig(**TINY), log=lambda line: None)
    single = tmp_path / "single"
    single.mkdir()
    write_midi(single / "one.mid", [("piano", tune(0), 0)], codec.Meter.of_beats(4), 120.0)
    with pytest.raises(TrainingError, match="at least 2 usable files"):
        train(single, tmp_path / "out", TrainConfig(**TINY), log=lambda line: None)


def test_the_bench_measures_training_throughput_of_the_model_livegen_train_builds():
    from livegen.training.bench_training import bench_training

    result = bench_training(hidden=8, layers=1, embedding=4, seconds=0.4, seq_len=16, batch=2)
    assert result["long_sequences"]["targets_per_second"] > 0
    assert result["notebook_windows"]["targets_per_batch"] == 2
