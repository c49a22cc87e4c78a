"""The ``livegen`` command; errors become messages and exit codes only here and in cli_errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from livegen import __version__
from livegen.cli.errors import Failure, reports_errors
from livegen.live.knobs import KNOBS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="livegen")
def cli() -> None:
    """livegen: play a phrase, and a stateful LSTM answers in tempo."""


def train_key_mode(transpose: bool, mode_bars: bool | None) -> str:
    """``livegen train``'s key mode: moved to C major / A minor and told the mode unless the flags say otherwise."""
    if mode_bars and not transpose:
        raise click.BadParameter("the mode is told only to a model that learns in C major / A minor: "
                                 "drop --no-transpose or --mode-bars", param_hint="--mode-bars")
    if not transpose:
        return "as-is"
    return "canonical" if mode_bars is False else "canonical+mode"


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Preset folder to write, e.g. presets/mine.")
@click.option("--epochs", type=click.IntRange(1, 10000), default=30, show_default=True)
@click.option("--size", "hidden", type=click.IntRange(4, 2048), default=256, show_default=True,
              help="LSTM units per layer.")
@click.option("--layers", type=click.IntRange(1, 4), default=2, show_default=True)
@click.option("--embedding", type=click.IntRange(2, 1024), default=64, show_default=True)
@click.option("--seq-len", type=click.IntRange(8, 4096), default=256, show_default=True,
              help="Tokens per training sequence (every one is a target).")
@click.option("--batch", type=click.IntRange(1, 4096), default=32, show_default=True)
@click.option("--val-split", type=click.FloatRange(0.0, 0.5), default=0.1, show_default=True,
              help="Share of files held out for validation.")
@click.option("--transpose/--no-transpose", default=True, show_default=True,
              help="Move every piece to C major / A minor (the answer follows the call's key).")
@click.option("--mode-bars/--no-mode-bars", default=None,
              help="Tell the model each piece's mode: a minor piece's bars open with a minor bar "
                   "token, and at play time the call's mode opens the answer's bars. On with "
                   "--transpose (the default), which it needs.")
@click.option("--augment", type=click.IntRange(0, 6), default=0, show_default=True,
              help="Also train on transpositions up to this many semitones each way.")
@click.option("--minor-repeat", type=click.IntRange(1, 8), default=1, show_default=True,
              help="Train each minor piece this many times an epoch: in a mostly-major folder, "
                   "answers to minor calls then stay in minor.")
@click.option("--patience", type=click.IntRange(1, 1000), default=4, show_default=True,
              help="Stop after this many epochs without a better validation loss.")
@click.option("--learning-rate", type=click.FloatRange(1e-6, 1.0), default=2e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--strategy", type=click.Choice(["default", "mirrored", "multi-worker"]), default="default",
              show_default=True, help="tf.distribute strategy for machines with several GPUs or workers.")
@click.option("--resume", is_flag=True, help="Continue an interrupted training of the same --out.")
@reports_errors
def train(folder, out_dir, epochs, hidden, layers, embedding, seq_len, batch, val_split, transpose,
          mode_bars, augment, minor_repeat, patience, learning_rate, seed, strategy, resume):
    """Train a preset on a folder of MIDI (and MusicXML/kern/ABC) files."""
    key_mode = train_key_mode(transpose, mode_bars)
    try:
        from training.trainer import TrainConfig, train as run_training
    except ImportError as error:
        raise Failure(
            f"training needs the [train] extra (TensorFlow, music21): {error}. "
            "Install it with: pip install -e '.[train]'"
        ) from error
    config = TrainConfig(
        epochs=epochs, embedding=embedding, hidden=hidden, layers=layers, seq_len=seq_len,
        batch=batch, val_split=val_split, key_mode=key_mode, augment=augment, minor_repeat=minor_repeat,
        patience=patience, learning_rate=learning_rate, seed=seed, strategy=strategy,
    )
    try:
        written = run_training(folder, out_dir, config, resume=resume, log=lambda text: click.echo(text, err=True))
    except KeyboardInterrupt:
        click.echo(f"\ntraining interrupted; the last finished epoch is kept. "
                   f"Continue with: livegen train {folder} --out {out_dir} --resume", err=True)
        sys.exit(130)
    click.echo(f"{written}: use it with 'livegen play --preset {written}'")


@cli.command()
@click.option("--preset", "preset_name", required=True, help="Bundled preset name or preset folder.")
@click.option("--prime", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="A .mid file to continue.")
@click.option("--bars", type=click.IntRange(1, 512), default=8, show_default=True)
@click.option("-o", "--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--temperature", type=click.FloatRange(0.0, 5.0), default=1.0, show_default=True)
@click.option("--top-p", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.95, show_default=True)
@click.option("--top-k", type=click.IntRange(0, 256), default=0, show_default=True, help="0 is off.")
@click.option("--min-p", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True)
@click.option("--polyphony", type=click.IntRange(1, 16), default=6, show_default=True,
              help="Most notes sounding at once.")
@click.option("--key-lock", is_flag=True, help="Only notes of the prime's scale.")
@click.option("--seed", type=int, default=None, help="Same seed, same answer.")
@click.option("--bpm", type=click.FloatRange(20, 400), default=None, help="Tempo of the output (default: the prime's).")
@reports_errors
def generate(preset_name, prime, bars, out_file, temperature, top_p, top_k, min_p, polyphony,
             key_lock, seed, bpm):
    """Continue a MIDI file offline and write call and answer to a new .mid."""
    from livegen.model import generate as continuation, preset as presets
    from livegen.music.key import estimate_key, transposes
    from livegen.music.midifile import read_midi, write_midi
    from livegen.model.runtime import StepModel
    from livegen.model.sampling import Sampler, SamplingConfig

    loaded = presets.load(preset_name)
    piece = read_midi(prime)
    for warning in piece.warnings:
        click.echo(f"{prime.name}: {warning}", err=True)
    key = estimate_key(piece.notes)
    scale = key.scale() if key_lock else None
    if scale is not None and transposes(loaded.key_mode):
        scale = frozenset((pc + key.to_canonical()) % 12 for pc in scale)
    config = SamplingConfig(temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p,
                            max_polyphony=polyphony, scale=scale)
    result = continuation.continue_notes(StepModel(loaded.weights), loaded.key_mode, piece.notes,
                                         piece.meter, bars, Sampler(config, seed=seed))
    tempo = bpm if bpm is not None else piece.tempo_bpm
    write_midi(out_file, [("call", piece.notes, 0), ("answer", result.notes, 1)], piece.meter, tempo)
    pitches = {note.pitch for note in result.notes}
    click.echo(
        f"{out_file}: {len(piece.notes)} notes of call in {key}, then {len(result.notes)} notes "
        f"({len(pitches)} different pitches) over {bars} bars at {tempo:.0f} bpm "
        f"from preset {loaded.name!r}"
    )


@cli.command(name="presets")
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@reports_errors
def list_presets(folders):
    """List presets with what they are and how well they play: the bundled ones, those in
    ./presets (where 'livegen train --out presets/NAME' puts yours), and those in FOLDERS."""
    from livegen.model import preset as presets

    bundled = presets.bundled_dir()
    places = [bundled, Path("presets"), *folders]
    seen: set[Path] = set()
    for place in places:
        if place != bundled and not place.is_dir():
            continue  # no ./presets here
        found = [d for d in presets.list_folder(place) if d.resolve() not in seen]
        if place == bundled and not found:
            click.echo(f"no bundled presets in {bundled}")
        for directory in found:
            seen.add(directory.resolve())
            name = directory.name if place == bundled else str(directory)
            try:
                line = presets.summary(directory)
            except presets.PresetError as error:
                line = f"unreadable: {error}"
            click.echo(f"{name:12s} {line}".rstrip())


DEFAULT_AUTO_START_BPM = 100.0


class TempoType(click.ParamType):
    """A tempo in bpm (20-400), or 'auto'."""

    name = "BPM|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, float) or value == "auto":
            return value
        try:
            bpm = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a tempo: give beats per minute (e.g. 96) or 'auto'", param, ctx)
        if not 20 <= bpm <= 400:
            self.fail(f"tempo must be between 20 and 400 bpm, got {bpm:g}", param, ctx)
        return bpm


NOTE_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class NoteType(click.ParamType):
    """A note the model may play: a MIDI number (21-108) or a name with its octave (C4 is 60, F#2, Bb5)."""

    name = "NOTE"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = value.strip()
        if text.isdigit():
            number = int(text)
        else:
            letter, accidental, octave = text[:1].upper(), text[1:2], text[1:]
            shift = {"#": 1, "b": -1}.get(accidental, 0)
            octave = octave[1:] if shift else octave
            if letter not in NOTE_NAMES or not octave.lstrip("-").isdigit():
                self.fail(f"{value!r} is not a note: give a MIDI number (60) or a name like C4, F#2 or Bb5",
                          param, ctx)
            number = 12 * (int(octave) + 1) + NOTE_NAMES[letter] + shift
        if not 21 <= number <= 108:
            self.fail(f"{value!r} is note {number}, outside the piano's A0 (21) to C8 (108)", param, ctx)
        return number


BACKEND_HELP = "MIDI API: jack, alsa, coremidi, windows-mm, or a mido backend name (default: MIDO_BACKEND)."


@cli.command(name="ports")
@click.option("--backend", default=None, help=BACKEND_HELP)
@reports_errors
def list_ports(backend):
    """List MIDI inputs (keyboards) and outputs (synths, DAW tracks)."""
    from livegen.live import ports

    choice = _backend(backend)
    inputs, outputs = ports.list_ports()
    click.echo(f"MIDI backend: {choice.name}")
    click.echo("inputs (use with --in):")
    for name in inputs or ["(none)"]:
        click.echo(f"  {name}")
    click.echo("outputs (use with --out):")
    for name in outputs or ["(none)"]:
        click.echo(f"  {name}")


def _backend(name):
    from livegen.live import ports

    try:
        choice = ports.select_backend(name)
    except ports.PortError as error:
        raise Failure(str(error)) from error
    if choice.note:
        click.echo(choice.note, err=True)
    return choice


@cli.command()
@click.option("--out", "output_name", required=True, help="Output port to silence.")
@click.option("--channel", "channels", type=click.IntRange(1, 16), multiple=True,
              help="Channel to silence (repeatable; default: all 16).")
@click.option("--backend", default=None, help=BACKEND_HELP)
@reports_errors
def panic(output_name, channels, backend):
    """Silence a synth: sustain pedal up, all notes off, all sound off."""
    from livegen.live import ports

    _backend(backend)
    try:
        port = ports.open_output(output_name)
        try:
            ports.send_panic(port, [], [c - 1 for c in channels] or range(16))
        finally:
            port.close()
    except ports.PortError as error:
        raise Failure(str(error)) from error
    click.echo(f"silenced {port.name}")


@cli.command()
@click.option("--in", "input_name", default=None, help="Keyboard port (exact, without ALSA numbers, or a unique part).")
@click.option("--out", "output_name", default=None, help="Synth or DAW port the answer goes to.")
@click.option("--preset", "preset_names", multiple=True, default=("chorale",), show_default=True,
              help="Bundled preset name or preset folder; repeat it to switch between them with the preset knob.")
@click.option("--mode", type=click.Choice(["answer", "accompany"]), default="answer", show_default=True,
              help="answer: call and response; accompany: play along while you play.")
@click.option("--rest-bars", type=click.IntRange(1, 16), default=2, show_default=True,
              help="accompany: after this many bars of your silence the model finishes its bar and rests.")
@click.option("--virtual", is_flag=True, help="Make virtual ports 'livegen:in' and 'livegen-out:answer' to connect to.")
@click.option("--create", is_flag=True, help="Make a virtual port for a name that does not exist.")
@click.option("--backend", default=None, help=BACKEND_HELP)
@click.option("--bpm", type=TempoType(), default="100", show_default=True,
              help="Tempo, or 'auto': the tempo of your first phrase (60-180 bpm).")
@click.option("--beats-per-bar", type=click.IntRange(1, 8), default=4, show_default=True)
@click.option("--phrase-end", type=click.FloatRange(0.25, 16), default=1.0, show_default=True,
              help="Beats of silence (no key held, pedal up) that end a phrase.")
@click.option("--end-phrase-cc", type=click.IntRange(0, 127), default=None,
              help="A controller that ends the phrase at once (e.g. a foot switch).")
@click.option("--answer-bars", type=click.IntRange(1, 64), default=None,
              help="Bars the answer lasts (default: as long as the call).")
@click.option("--max-answer-bars", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--start-on", type=click.Choice(["beat", "bar"]), default="beat", show_default=True,
              help="The answer starts on the next beat or the next bar after the phrase ends.")
@click.option("--yield/--no-yield", "yield_to_player", default=True, show_default=True,
              help="Stop the answer when the player starts again.")
@click.option("--in-channel", type=click.IntRange(1, 16), default=None, help="Only hear this channel (default: all).")
@click.option("--out-channel", type=click.IntRange(1, 16), default=1, show_default=True)
@click.option("--thru", is_flag=True, help="Pass the player's notes through to the output too.")
@click.option("--thru-to", default=None, metavar="PORT",
              help="Pass the player's notes to this port instead (e.g. the DAW track that records you).")
@click.option("--also-out", "more_outputs", multiple=True, metavar="PORT",
              help="Send the answer to this port as well (repeatable): a second synth, a DAW track.")
@click.option("--program", type=click.IntRange(1, 128), default=None,
              help="General MIDI program (instrument) sent on --out-channel at start, e.g. 1 piano, 20 organ.")
@click.option("--knob", "knob_bindings", multiple=True, metavar="NAME=CC",
              help="Bind a controller to a setting (repeatable): " + ", ".join(KNOBS) + ". E.g. --knob temperature=21")
@click.option("--knobs", "knob_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Knob bindings saved by --learn (JSON: {\"temperature\": 21}).")
@click.option("--learn", "learn_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MIDI learn: move each knob when asked; the bindings are saved to this file.")
@click.option("--learn-knobs", default="temperature,top-p,answer-bars,key-lock", show_default=True,
              help="Which knobs --learn asks for, in order.")
@click.option("--clock", "clock_name", default=None,
              help="Follow the MIDI clock (tempo, start/stop, song position) from this port; 'in' for --in's.")
@click.option("--send-clock", is_flag=True, help="Be the MIDI clock master: send start, 24 PPQN clock and stop.")
@click.option("--metronome", is_flag=True, help="Click every beat; the click, not your first note, sets the bar.")
@click.option("--metronome-channel", type=click.IntRange(1, 16), default=10, show_default=True)
@click.option("--count-in", type=click.IntRange(1, 16), default=None, metavar="BARS",
              help="Click this many bars before you play; the click sets the bar (with --metronome it goes on).")
@click.option("--temperature", type=click.FloatRange(0.0, 5.0), default=0.9, show_default=True)
@click.option("--top-p", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.95, show_default=True)
@click.option("--polyphony", type=click.IntRange(1, 16), default=6, show_default=True)
@click.option("--density", type=click.FloatRange(0.1, 10), default=1.0, show_default=True,
              help="Above 1, more notes than the preset would play; below 1, fewer.")
@click.option("--lowest", type=NoteType(), default="A0", show_default=True, help="Lowest note the model plays (name or number).")
@click.option("--highest", type=NoteType(), default="C8", show_default=True, help="Highest note the model plays.")
@click.option("--key-lock", is_flag=True, help="Answer only with notes of the call's scale.")
@click.option("--seed", type=int, default=None)
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write player and answer to this .mid when the session ends.")
@click.option("--latency-offset", type=click.FloatRange(0, 500), default=None, metavar="MS",
              help="Send this many ms early (default: what 'livegen calibrate' measured for --out, else 0).")
@click.option("--duration", type=click.FloatRange(0.1, None), default=None, help="Stop after this many seconds.")
@click.option("--reconnect", is_flag=True,
              help="When a port named with --in, --out or --clock disappears, wait for it to come back and "
                   "carry on (default: stop the session).")
@click.option("--quiet", is_flag=True, help="No live status line.")
@reports_errors
def play(input_name, output_name, preset_names, mode, rest_bars, virtual, create, backend, bpm, beats_per_bar,
         phrase_end, end_phrase_cc, answer_bars, max_answer_bars, start_on, yield_to_player, in_channel, out_channel,
         thru, thru_to, more_outputs, program, knob_bindings, knob_file, learn_file, learn_knobs, clock_name,
         send_clock, metronome, metronome_channel, count_in, temperature, top_p, polyphony, density, lowest, highest, key_lock, seed, record,
         latency_offset, duration, reconnect, quiet):
    """Play a phrase; the companion answers in tempo. Ctrl-C ends the session."""
    from livegen.live import knobs, ports
    from livegen.model import preset as presets
    from livegen.live.engine import CompanionConfig
    from livegen.music.key import transposes
    from livegen.model.sampling import SamplingConfig
    from livegen.live.session import PortsConfig, Session, print_status

    if not virtual and (input_name is None or output_name is None) and not create:
        raise click.UsageError("name both ports (--in KEYBOARD --out SYNTH; see 'livegen ports'), "
                               "or use --virtual to make ports to connect to")
    if reconnect and virtual:
        raise click.UsageError("--reconnect waits for ports named with --in/--out/--clock; --virtual ports are "
                               "livegen's own and never disappear (connect them again with your patchbay)")
    auto_tempo = bpm == "auto"
    if auto_tempo and (clock_name or metronome or send_clock):
        raise click.UsageError("--bpm auto takes the tempo from your playing: it cannot go with --clock, "
                               "--metronome or --send-clock, which set the beat themselves")
    bpm = DEFAULT_AUTO_START_BPM if auto_tempo else bpm
    if clock_name and (metronome or send_clock or count_in):
        raise click.UsageError("--clock follows another clock: it cannot go with --metronome, --count-in or "
                               "--send-clock")
    if auto_tempo and count_in:
        raise click.UsageError("--bpm auto takes the tempo from your playing: a --count-in needs a tempo to count in")
    if lowest > highest:
        raise click.BadParameter(f"the lowest note ({lowest}) is above the highest ({highest})", param_hint="--lowest")
    bindings = knobs.load(knob_file) if knob_file else {}
    for text in knob_bindings:
        try:
            cc, name = knobs.parse_binding(text)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--knob") from error
        bindings[cc] = name
    learn = tuple(name.strip() for name in learn_knobs.split(",") if name.strip()) if learn_file else ()
    loaded, *alternatives = [presets.load(name) for name in preset_names]
    if any(transposes(other.key_mode) != transposes(loaded.key_mode) for other in alternatives):
        raise click.BadParameter("presets to switch between must all meet keys the same way (moved to C major / "
                                 "A minor, or as-is); see each one's card", param_hint="--preset")
    companion = CompanionConfig(
        bpm=bpm, beats_per_bar=beats_per_bar, phrase_end_beats=phrase_end, answer_bars=answer_bars,
        max_answer_bars=max_answer_bars, start_on=start_on, yield_to_player=yield_to_player,
        end_phrase_cc=end_phrase_cc, in_channel=None if in_channel is None else in_channel - 1,
        out_channel=out_channel - 1, key_mode=loaded.key_mode, key_lock=key_lock,
        metronome_channel=metronome_channel - 1 if metronome or count_in else None, send_clock=send_clock,
        click_bars=None if metronome else count_in, knobs=tuple(bindings.items()), learn=learn,
        auto_tempo=auto_tempo, mode=mode, rest_bars=rest_bars,
    )
    sampling = SamplingConfig(temperature=temperature, top_p=top_p, max_polyphony=polyphony, density=density,
                              pitch_low=lowest, pitch_high=highest)
    session = Session(loaded, companion, sampling,
                      PortsConfig(input_name, output_name, virtual, create, backend, thru, clock_name,
                                  None if program is None else program - 1, reconnect, more_outputs, thru_to),
                      seed=seed, record=record, log=lambda text: click.echo(text, err=True),
                      latency_offset_ms=latency_offset, alternatives=tuple(alternatives))
    try:
        session.open()
        if learn:
            session.companion.on_learned = _learner(learn_file, session.companion)
            click.echo(f"MIDI learn: move the knob for {learn[0]}", err=True)
        tempo = "tempo from your first phrase" if auto_tempo else f"{bpm:g} bpm"
        what = "play; it plays along" if mode == "accompany" else "play a phrase"
        also = "".join(f" and {port.name!r}" for port in session.output_ports[1:])
        click.echo(f"livegen ready: preset {loaded.name!r}, {tempo}; in {session.input_port.name!r}, "
            f"out {session.output_ports[0].name!r}{also}. {what[0].upper() + what[1:]}; Ctrl-C to stop.", err=True)
        show = None if quiet or not sys.stderr.isatty() else print_status
        session.run(duration, on_status=show)
    except ports.PortError as error:
        session.request_stop(str(error), failed=True)
    except KeyboardInterrupt:
        session.request_stop("stopped by Ctrl-C")
    finally:
        problems = session.close()
    if show_line := session.reason:
        click.echo(("\n" if not quiet and sys.stderr.isatty() else "") + show_line, err=True)
    for problem in problems:
        click.echo(f"while stopping: {problem}", err=True)
    if session.failed or problems:
        sys.exit(1)


@cli.command()
@click.option("--preset", "preset_name", default="chorale", show_default=True,
              help="Bundled preset name or preset folder.")
@click.option("--call", "call_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="A .mid phrase to play (default: the bundled G major call).")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"),
              show_default=True, help="Where demo-session.mid and demo-session.wav go.")
@click.option("--backend", default=None, help=BACKEND_HELP)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--temperature", type=click.FloatRange(0.0, 5.0), default=0.9, show_default=True)
@reports_errors
def demo(preset_name, call_file, out_dir, backend, seed, temperature):
    """Play a bundled phrase into the companion through real MIDI ports and hear its answer."""
    from livegen.demo import run as demos
    from livegen.model import preset as presets

    call = call_file or demos.BUNDLED_CALL
    loaded = presets.load(preset_name)
    report = demos.run_demo(loaded, call, out_dir, backend=backend, seed=seed, temperature=temperature,
                            log=lambda text: click.echo(text, err=True))
    click.echo(report.describe())


@cli.command()
@click.option("--quick", is_flag=True, help="Short runs: a smoke test, not numbers to publish.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every number to this JSON file.")
@click.option("--no-compare", is_flag=True, help="Skip the rows that need TensorFlow and music21.")
@reports_errors
def bench(quick, json_path, no_compare):
    """Measure the live path (step, sampling, readiness, scheduler, start-up) against its anchors."""
    from livegen.bench import live as benchmarks

    results = benchmarks.run(quick=quick, compare=not no_compare, log=lambda text: click.echo(text, err=True))
    machine = results["machine"]
    click.echo(f"{machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, {machine['date']}"
               + (" (quick run)" if quick else ""))
    click.echo(benchmarks.table(results))
    if json_path is not None:
        benchmarks.write_json(results, json_path)
        click.echo(f"wrote {json_path}")


@cli.command()
@click.option("--out", "output_name", default=None, help="Output port the probe notes go out of (e.g. to the DAW).")
@click.option("--in", "input_name", default=None, help="Input port they come back on.")
@click.option("--virtual", is_flag=True, help="Make the ports 'livegen play --virtual' makes (livegen-out:answer, "
                                             "livegen:in); route them through the DAW while it waits.")
@click.option("--count", type=click.IntRange(3, 1000), default=20, show_default=True)
@click.option("--wait", type=click.FloatRange(1, 600), default=30, show_default=True,
              help="Seconds to wait for the first note to come back.")
@click.option("--backend", default=None, help=BACKEND_HELP)
@reports_errors
def calibrate(output_name, input_name, virtual, count, wait, backend):
    """Measure the MIDI round trip out and back in, and save it as the output's latency offset."""
    import threading
    import time

    from livegen.live import calibrate as calibration, ports
    from livegen.live.listener import Listener

    if not virtual and (output_name is None or input_name is None):
        raise click.UsageError("name both ports (--out and --in, see 'livegen ports') or use --virtual")
    _backend(backend)
    inbox, arrived = [], threading.Event()

    def heard(at, message):
        inbox.append((at, message))
        arrived.set()

    output = ports.open_output(output_name, virtual=virtual)
    try:
        source = ports.open_input(input_name, virtual=virtual)
        listener = Listener(source, heard)
        listener.start()
        try:
            click.echo(f"probe notes go out of {output.name!r} and should come back into {source.name!r}", err=True)
            deadline = time.perf_counter() + wait
            while not calibration.measure(output, inbox, arrived, count=1, gap=0.0, timeout=0.2):
                if time.perf_counter() > deadline:
                    raise Failure(f"no note came back within {wait:g} s: connect {output.name!r} to "
                                  f"{source.name!r} (directly, or through the DAW's MIDI thru)")
            trips = calibration.measure(output, inbox, arrived, count=count)
        finally:
            listener.stop()
            source.close()
    finally:
        output.close()
    if not trips:
        raise Failure("the probe notes stopped coming back; check the connection and run again")
    result = calibration.summary(trips)
    path = calibration.save(output.name, result["median_ms"])
    click.echo(f"round trip over {result['notes']} notes: median {result['median_ms']} ms, "
               f"90% within {result['p90_ms']} ms, worst {result['max_ms']} ms")
    click.echo(f"saved {result['median_ms']} ms for {output.name!r} in {path}: 'livegen play --out "
               f"{output.name}' now sends that much early")


def _learner(path: Path, companion):
    """What MIDI learn says and does after each knob: ask for the next, save when all are bound."""
    from livegen.live import knobs

    def learned(name, control, left):
        click.echo(f"{name} -> CC {control}" + (f"; now move the knob for {left[0]}" if left else ""), err=True)
        if not left:
            knobs.save(path, companion.knobs)
            click.echo(f"saved the knobs to {path}; use them with --knobs {path}", err=True)

    return learned


def _register_music_commands() -> None:
    """``eval`` and ``show`` live in their own module; they import their heavy parts lazily."""
    from livegen.cli.music import eval_command, show_command

    cli.add_command(eval_command)
    cli.add_command(show_command)


_register_music_commands()


def main() -> None:
    """Console entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cli(prog_name="livegen")
