"""The kept experiment scripts (scripts/*.py, whose tables BENCHMARKS.md quotes) run end to end on a tiny input.

Each script runs as its own process from the repository root, as its docstring says to run it, with
the fewest pieces, settings and minutes its command line allows, and writes into pytest's tmp_path.
"""

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from livegen.music import codec
from livegen.music.midifile import write_midi

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str):
    """The script as a module (importing it runs nothing: each keeps its work under ``main``)."""
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name: str, *args, tmp_path: Path, timeout: float) -> str:
    """Run ``scripts/NAME.py`` with ``args`` (one thread, as the scripts' docstrings run them, and a
    private ingest cache); its stdout, after checking it exited 0."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
           "TF_CPP_MIN_LOG_LEVEL": "2", "LIVEGEN_CACHE_DIR": str(tmp_path / "ingest-cache")}
    done = subprocess.run([sys.executable, f"scripts/{name}.py", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def check_reduction(row: dict) -> None:
    """A perplexity reduction with its bootstrap interval: finite, the mean inside the interval."""
    assert all(math.isfinite(row[key]) for key in ("mean", "low", "high")), row
    assert row["low"] - 1e-12 <= row["mean"] <= row["high"] + 1e-12, row
    assert row["mean"] < 1.0  # 1 - exp(difference) stays below 1


@pytest.mark.slow
def test_adapt_sessions_runs_on_one_piece_a_group(tmp_path):
    """scripts/adapt_sessions.py on the dev set, one piece a group, one setting of each way of learning."""
    script = load_script("adapt_sessions")
    out = tmp_path / "adapt.json"
    stdout = run_script("adapt_sessions", "--sets", "dev", "--limit", 1, "--adapts", 0.5, "--escapes", 2,
                        "--decays", 0.995, "--rates", 0.3, "--epochs", 1, "--copy-seeds", 1,
                        "--ngram", 0.5, 2, "--cache", 0.5, 0.995, "--dynamic", 0.3,
                        "--cache-dir", tmp_path / "pieces", "--json", out, tmp_path=tmp_path, timeout=240)
    results = json.loads(out.read_text())

    ways = ["LSTM alone (adapt 0)", "n-gram adapt 0.5 escape 2", "token cache adapt 0.5 decay 0.995",
            "dynamic evaluation rate 0.3, 1 steps"]
    groups = [group for group, *_ in script.SETS["dev"]]
    assert results["preset"] == "chorale" and results["sets"] == "dev"
    assert list(results["groups"]) == groups
    for name, rows in [*results["groups"].items(), ("all pieces", results["all pieces"])]:
        assert list(rows["ways"]) == ways, name
        assert list(rows["controls"]) == ways[1:], name  # each chosen setting also learns another piece
        assert list(rows["paired"]) == ways[2:], name  # the default n-gram against the other two
        assert rows["tokens"] > 0 and math.isfinite(rows["lstm_nats"]) and rows["lstm_nats"] > 0
        for row in [*rows["ways"].values(), *rows["controls"].values()]:
            assert math.isfinite(row["nats"]) and row["nats"] > 0, (name, row)
            check_reduction(row)
        for row in rows["paired"].values():
            check_reduction(row)
        lstm = rows["ways"][ways[0]]
        assert lstm["nats"] == pytest.approx(rows["lstm_nats"]) and lstm["mean"] == lstm["low"] == lstm["high"] == 0.0
        assert {"real next phrase", *ways} <= set(rows["copying"]), name  # every way's answers checked
        for row in rows["copying"].values():
            assert row["answers"] > 0 and 0 <= row["echo_mean"] <= row["echo_max"], (name, row)
            assert 0 <= row["copied_bars_mean"] <= row["copied_bars_max"], (name, row)
    assert [rows["pieces"] for rows in results["groups"].values()] == [1, 1]  # --limit 1 (both long enough)
    assert results["all pieces"]["pieces"] == 2
    assert results["all pieces"]["tokens"] == sum(rows["tokens"] for rows in results["groups"].values())
    assert results["default"]["chosen"] in (None, ways[1])
    # Only the files holding the first piece of each group were read into the cache.
    assert sorted(path.name for path in (tmp_path / "pieces").iterdir()) == [
        "essenFolksong-altdeu10-60.json", "trecento-Fava_Dicant_nunc_iudei-1.json"]

    # The printed tables, one for each group and one for all pieces: a row for each way in the loss table and
    # in the copying table, one for each control and for the real phrases; the LSTM's loss as in the JSON.
    lines = stdout.splitlines()
    for way in ways:
        assert sum(line.startswith(f"| {way} | ") for line in lines) == 6, way
    for way in ways[1:]:
        assert sum(line.startswith(f"| control: {way}, learning another piece | ") for line in lines) == 3, way
    assert sum(line.startswith("| real next phrase | ") for line in lines) == 3
    for name, rows in [*results["groups"].items(), ("all pieces", results["all pieces"])]:
        assert (f"{name}: {rows['pieces']} pieces, {rows['tokens']} tokens; "
                f"LSTM alone {rows['lstm_nats']:.3f} nats/token") in lines
    assert "default, by the rule" in stdout and str(results["default"]["chosen"]) in stdout


def pentatonic_tune(seed: int) -> list[codec.Note]:
    """Eight bars of 2/4 in eighth notes on a pentatonic scale: tunes of the kind the script's collection holds."""
    rng = np.random.default_rng(seed)
    steps = (0, 2, 4, 7, 9, 12)
    eighth = codec.TICKS_PER_BEAT // 2
    return [codec.Note(index * eighth, 62 + steps[int(rng.integers(len(steps)))], 80, eighth) for index in range(32)]


@pytest.mark.slow
def test_finetune_table_runs_on_one_small_folder(tmp_path, tiny_preset):
    """scripts/finetune_table.py: one folder of two tunes, one epoch a fit, a tiny random-weight base.

    The script exports its tunes from music21's han1.abc into WORK/tunes once, and a later run reads
    them from there (WORK/tunes/tunes.json). Parsing han1.abc takes about 30 s on two cores, so the test
    writes its tunes there itself; the bundled chorale preset as base would cost another minute
    (its 24 held-out pieces are scored four times), so the base is the tests' tiny preset with two
    held-out pieces of its own.
    """
    script = load_script("finetune_table")
    base = tmp_path / "base"
    shutil.copytree(tiny_preset, base)
    (base / "calls").mkdir()
    meter = codec.Meter.of_beats(2)
    for number in range(2):
        write_midi(base / "calls" / f"call{number}.mid", [("piano", pentatonic_tune(1000 + number), 0)], meter, 100.0)
    work, size = tmp_path / "work", 2
    names = [f"tune-{number:03d}.mid" for number in range(script.TEST_TUNES + script.DEV_TUNES + size)]
    (work / "tunes").mkdir(parents=True)
    for number, name in enumerate(names):
        write_midi(work / "tunes" / name, [(name, pentatonic_tune(number), 0)], meter, 100.0)
    (work / "tunes" / "tunes.json").write_text(json.dumps(names), encoding="utf-8")

    stdout = run_script("finetune_table", work, "--base", base, "--sizes", size, "--minutes", 0.01,
                        tmp_path=tmp_path, timeout=240)

    results = json.loads((work / "results.json").read_text(encoding="utf-8"))
    assert sorted(results) == ["finetune-2", "scratch-2"]
    tuned, scratch = results["finetune-2"], results["scratch-2"]
    for name, result in results.items():
        assert result["epochs_run"] >= 1 and result["fit_seconds"] > 0, name
        assert math.isfinite(result["test_loss"]) and result["test_loss"] > 0, name
        assert (work / "presets" / name / "preset.json").is_file() and (work / f"{name}.log").is_file()
    assert math.isfinite(tuned["base_calls_loss"]) and tuned["base_calls_loss"] > 0
    assert tuned["config"]["learning_rate"] == 1e-3 and tuned["config"]["max_minutes"] == 0.01  # the fine-tune recipe
    assert scratch["config"]["patience"] == 10_000  # from scratch: not stopped early
    assert sorted(path.name for path in (work / "folder-2").iterdir()) == names[-size:]  # the pool's first tunes

    # The table: a header, its rule, and one row for the one folder, built from results.json.
    rows = [line for line in stdout.splitlines() if line.startswith("|")]
    assert len(rows) == 3 and rows[0].startswith("| files | fine-tuned | base unchanged |")
    cells = [cell.strip() for cell in rows[2].strip("|").split("|")]
    assert len(cells) == 7 and cells[0] == str(size)
    assert float(cells[1]) == pytest.approx(tuned["test_loss"], abs=5e-4)
    assert float(cells[3]) == pytest.approx(scratch["test_loss"], abs=5e-4)
    assert all(math.isfinite(float(cell)) and float(cell) > 0 for cell in cells[2:5])
    base_calls, tuned_calls = (float(value) for value in cells[5].split("→"))
    assert tuned_calls == pytest.approx(tuned["base_calls_loss"], abs=5e-4) and base_calls > 0
    assert f"({tuned['epochs_run']}) / " in cells[6] and cells[6].endswith(f"({scratch['epochs_run']})")
    assert f"test: {script.TEST_TUNES} tunes; base's held-out pieces: 2" in stdout
