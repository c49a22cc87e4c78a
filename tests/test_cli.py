"""The command line end to end: train on a folder with a broken file, then generate from the preset."""

import shutil
import subprocess
import sys
from pathlib import Path

import mido
import pytest
from click.testing import CliRunner

from livegen.cli.train import train_key_mode
from livegen.music.midifile import read_midi

ROOT = Path(__file__).resolve().parent.parent


def livegen(*args, **options):
    return subprocess.run([sys.executable, "-m", "livegen", *map(str, args)], capture_output=True, text=True,
                          timeout=300, **options)


@pytest.mark.slow
def test_train_skips_the_broken_file_and_the_preset_generates_real_music(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEGEN_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "music"
    shutil.copytree(ROOT / "examples" / "chorales", folder)
    trained = livegen("train", folder, "--out", tmp_path / "mine", "--size", 64, "--layers", 1,
                      "--epochs", 15, "--seq-len", 128)
    assert trained.returncode == 0, trained.stderr
    assert "broken.mid" in trained.stderr and "truncated" in trained.stderr
    card = (tmp_path / "mine" / "README.md").read_text()
    assert "broken.mid" in card and "order-3 Markov" in card
    # A tiny model's answers vary from draw to draw: three draws, judged together and each.
    answers = []
    for seed in (1, 2, 3):
        out = tmp_path / f"answer-{seed}.mid"
        generated = livegen("generate", "--preset", tmp_path / "mine", "--prime",
                            ROOT / "livegen/demo/phrases/call-g-major.mid", "--bars", 8, "--seed", seed, "-o", out)
        assert generated.returncode == 0, generated.stderr
        assert read_midi(out).tempo_bpm == pytest.approx(100.0, abs=0.01)
        answer = answer_notes(out)
        assert len({pitch for pitch, _ in answer}) >= 5 and len({length for _, length in answer}) >= 2
        answers.append(len(answer))
    assert sum(answers) >= 3 * 24, f"only {answers} notes in 8 bars"


def answer_notes(path):
    """(pitch, length in ticks) of each note on the track named 'answer'."""
    track = next(t for t in mido.MidiFile(path).tracks if t.name == "answer")
    now, started, notes = 0, {}, []
    for message in track:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            started[message.note] = now
        elif message.type in ("note_on", "note_off") and message.note in started:
            notes.append((message.note, now - started.pop(message.note)))
    return notes


def test_a_generated_answer_closes_on_the_primes_tonic_chord_unless_told_not_to(tmp_path):
    closing, free = tmp_path / "closing.mid", tmp_path / "free.mid"
    for out, flags in ((closing, []), (free, ["--no-cadence"])):
        generated = livegen("generate", "--preset", "renaissance", "--prime", ROOT / "livegen/demo/phrases/call-g-major.mid",
                            "--bars", 4, "--seed", 3, "-o", out, *flags)
        assert generated.returncode == 0, generated.stderr
    track = next(t for t in mido.MidiFile(closing).tracks if t.name == "answer")
    now, onsets = 0, {}
    for message in track:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            onsets.setdefault(now, []).append(message.note)
    last = onsets[max(onsets)]
    assert min(last) % 12 == 7 and {pitch % 12 for pitch in last} <= {7, 11, 2}, last  # G, B, D over G
    assert answer_notes(free) != answer_notes(closing)


def test_nonsense_flags_get_a_clear_message_and_exit_code_2(tmp_path):
    result = livegen("generate", "--preset", "x", "--prime", ROOT / "livegen/demo/phrases/call-g-major.mid",
                     "-o", tmp_path / "o.mid", "--temperature", "-1")
    assert result.returncode == 2
    assert "--temperature" in result.stderr and "-1" in result.stderr


def test_telling_the_mode_without_transposing_is_refused_before_any_work(tmp_path):
    result = livegen("train", ROOT / "examples/chorales", "--out", tmp_path / "p", "--mode-bars", "--no-transpose")
    assert result.returncode == 2
    assert "--mode-bars" in result.stderr and "drop --no-transpose or --mode-bars" in result.stderr
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("transpose, mode_bars, key_mode", [
    (True, None, "canonical+mode"), (True, True, "canonical+mode"), (True, False, "canonical"),
    (False, None, "as-is"), (False, False, "as-is"),
])
def test_train_flags_choose_how_the_preset_meets_keys(transpose, mode_bars, key_mode):
    assert train_key_mode(transpose, mode_bars) == key_mode


def test_a_missing_preset_and_a_corrupt_prime_are_one_line_errors(tmp_path):
    missing = livegen("generate", "--preset", "no-such-preset", "--prime", ROOT / "livegen/demo/phrases/call-g-major.mid",
                      "-o", tmp_path / "o.mid")
    assert missing.returncode == 1
    assert "no preset called 'no-such-preset'" in missing.stderr and "Traceback" not in missing.stderr
    corrupt = livegen("generate", "--preset", "no-such-preset", "--prime", ROOT / "examples/chorales/broken.mid",
                      "-o", tmp_path / "o.mid")
    assert corrupt.returncode == 1 and "Traceback" not in corrupt.stderr


def test_play_without_ports_says_how_to_name_them():
    result = livegen("play", "--preset", "x")
    assert result.returncode == 2
    assert "name both ports" in result.stderr


def test_reconnect_with_virtual_ports_is_refused_with_why():
    result = livegen("play", "--virtual", "--reconnect")
    assert result.returncode == 2
    assert "--virtual ports are livegen's own and never disappear" in result.stderr


@pytest.mark.parametrize("arguments, message", [
    (["--bpm", "auto", "--metronome"], "--bpm auto takes the tempo from your playing: it cannot go with --metronome"),
    (["--bpm", "auto", "--count-in", "1"], "a --count-in needs a tempo to count in"),
    (["--clock", "in", "--send-clock"], "--clock follows another clock: it cannot go with --metronome, --count-in"),
    (["--clock", "in", "--count-in", "2"], "--clock follows another clock"),
    (["--clock", "in", "--bpm", "auto"], "it cannot go with --clock, which sets the beat itself"),
    (["--lowest", "C5", "--highest", "C4"], "the lowest note (72) is above the highest (60)"),
    (["--knob", "volume=7"], "no knob called 'volume'"),
    (["--session-memory", "/no/such/folder/me.json"], "there is no folder '/no/such/folder' to keep it in"),
])
def test_options_that_cannot_go_together_are_refused_before_any_port_or_preset_opens(arguments, message):
    from livegen.cli import cli

    result = CliRunner().invoke(cli, ["play", "--virtual", "--preset", "no-such-preset", *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output and "no-such-preset" not in result.output


def test_a_knob_file_that_is_not_json_is_a_one_line_error(tmp_path):
    from livegen.cli import cli

    broken = tmp_path / "knobs.json"
    broken.write_text("temperature = 21")
    result = CliRunner().invoke(cli, ["play", "--virtual", "--knobs", str(broken)])
    assert result.exit_code == 1 and result.output.startswith(f"Error: cannot read the knob file {broken}")


@pytest.mark.parametrize("bpm", ["0", "19.5", "400.5"])
def test_a_nonsense_tempo_is_refused_with_the_clocks_own_message(bpm):
    from livegen.cli import cli
    from livegen.live.clock import check_tempo

    with pytest.raises(ValueError) as refused:
        check_tempo(float(bpm))
    result = CliRunner().invoke(cli, ["play", "--virtual", "--bpm", bpm])
    assert result.exit_code == 2
    assert f"Invalid value for '--bpm': {refused.value}\n" in result.output
    assert f"tempo must be between 20 and 400 bpm, got {bpm}" in result.output


def test_presets_lists_each_preset_once_however_often_its_folder_is_named(tmp_path, monkeypatch):
    from livegen.cli import cli
    from livegen.model import preset

    bundled = preset.bundled_dir()
    mine = tmp_path / "mine"
    shutil.copytree(bundled / "chorale", mine / "chorale", ignore=shutil.ignore_patterns("calls"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "presets").symlink_to(bundled, target_is_directory=True)  # ./presets is the bundled folder
    result = CliRunner().invoke(cli, ["presets", str(bundled), str(mine), str(mine), "presets"])
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.output.splitlines()]
    assert names == [directory.name for directory in preset.list_folder(bundled)] + [str(mine / "chorale")]
