"""``livegen play`` (the live companion), ``panic`` and ``calibrate``: the commands that hold MIDI ports.

``play``'s options come in groups (``livegen.cli.options``); each frozen config is built from the
options it needs, by name.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from livegen.cli.errors import Failure, bug, reports_errors
from livegen.cli.options import (adapt_options, answer_options, backend_option, knob_options, port_options,
                                 preset_options, sampling_options, session_options, tempo_options)
from livegen.cli.ports import use_backend

DEFAULT_AUTO_START_BPM = 100.0


def check_combination(*, input_name, output_name, virtual, create, reconnect, bpm, clock_name, metronome,
                      send_clock, count_in, lowest, highest, memory_path, **_) -> None:
    """Refuse options that cannot go together, before any port or preset is opened."""
    if not virtual and (input_name is None or output_name is None) and not create:
        raise click.UsageError("name both ports (--in KEYBOARD --out SYNTH; see 'livegen ports'), "
                               "or use --virtual to make ports to connect to")
    if reconnect and virtual:
        raise click.UsageError("--reconnect waits for ports named with --in/--out/--clock; --virtual ports are "
                               "livegen's own and never disappear (connect them again with your patchbay)")
    if bpm == "auto" and (clock_name or metronome or send_clock):
        raise click.UsageError("--bpm auto takes the tempo from your playing: it cannot go with --clock, "
                               "--metronome or --send-clock, which set the beat themselves")
    if clock_name and (metronome or send_clock or count_in):
        raise click.UsageError("--clock follows another clock: it cannot go with --metronome, --count-in or "
                               "--send-clock")
    if bpm == "auto" and count_in:
        raise click.UsageError("--bpm auto takes the tempo from your playing: a --count-in needs a tempo to count in")
    if lowest > highest:
        raise click.BadParameter(f"the lowest note ({lowest}) is above the highest ({highest})", param_hint="--lowest")
    if memory_path is not None and not memory_path.absolute().parent.is_dir():
        raise click.BadParameter(f"there is no folder {str(memory_path.absolute().parent)!r} to keep it in",
                                 param_hint="--session-memory")


def knob_bindings(*, knob_file, knob_bindings, **_) -> dict[int, str]:
    """Controller -> knob name: those saved in ``--knobs``, then each ``--knob NAME=CC`` over them."""
    from livegen.live import knobs

    bindings = knobs.load(knob_file) if knob_file else {}
    for text in knob_bindings:
        try:
            cc, name = knobs.parse_binding(text)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--knob") from error
        bindings[cc] = name
    return bindings


def learn_order(*, learn_file, learn_knobs, **_) -> tuple[str, ...]:
    """The knobs ``--learn`` asks for, in order; none without ``--learn``."""
    return tuple(name.strip() for name in learn_knobs.split(",") if name.strip()) if learn_file else ()


def load_presets(preset_names):
    """The presets named with ``--preset``, which must all meet keys the same way to be switched between."""
    from livegen.model import preset as presets
    from livegen.music.key import transposes

    loaded = [presets.load(name) for name in preset_names]
    if any(transposes(other.key_mode) != transposes(loaded[0].key_mode) for other in loaded[1:]):
        raise click.BadParameter("presets to switch between must all meet keys the same way (moved to C major / "
                                 "A minor, or as-is); see each one's card", param_hint="--preset")
    return loaded


def companion_config(*, bpm, beats_per_bar, phrase_end, answer_bars, max_answer_bars, start_on, yield_to_player,
                     end_phrase_cc, in_channel, out_channel, key_lock, metronome, metronome_channel, send_clock,
                     count_in, mode, rest_bars, key_mode, knobs, learn, follow_dynamics, adapt, **_):
    """How the companion listens and answers; channels go from the musician's 1-16 to MIDI's 0-15."""
    from livegen.live.engine import CompanionConfig

    auto_tempo = bpm == "auto"
    return CompanionConfig(
        bpm=DEFAULT_AUTO_START_BPM if auto_tempo else bpm, beats_per_bar=beats_per_bar,
        phrase_end_beats=phrase_end, answer_bars=answer_bars, max_answer_bars=max_answer_bars, start_on=start_on,
        yield_to_player=yield_to_player, end_phrase_cc=end_phrase_cc,
        in_channel=None if in_channel is None else in_channel - 1, out_channel=out_channel - 1,
        key_mode=key_mode, key_lock=key_lock,
        metronome_channel=metronome_channel - 1 if metronome or count_in else None, send_clock=send_clock,
        click_bars=None if metronome else count_in, knobs=knobs, learn=learn, auto_tempo=auto_tempo, mode=mode,
        rest_bars=rest_bars, follow_dynamics=follow_dynamics, adapt=adapt,
    )


def sampling_config(preset, *, temperature, top_p, polyphony, density, lowest, highest, cadence, **_):
    """How adventurous the answer is, which notes it may use and whether it closes (top-p and cadence:
    the preset's own unless given)."""
    from livegen.model.sampling import SamplingConfig

    return SamplingConfig(temperature=temperature, top_p=preset.top_p_or(top_p),
                          max_polyphony=polyphony, density=density,
                          pitch_low=lowest, pitch_high=highest, cadence=preset.cadence_or(cadence))


def ports_config(*, input_name, output_name, virtual, create, backend, thru, clock_name, program, reconnect,
                 more_outputs, thru_to, **_):
    """Where the player comes in and the answer goes out; the program goes from 1-128 to MIDI's 0-127."""
    from livegen.live.session import PortsConfig

    return PortsConfig(input_name=input_name, output_name=output_name, virtual=virtual, create=create,
                       backend=backend, thru=thru, clock_name=clock_name,
                       program=None if program is None else program - 1, reconnect=reconnect,
                       more_outputs=more_outputs, thru_to=thru_to)


@click.command()
@port_options
@preset_options
@tempo_options
@answer_options
@knob_options
@sampling_options
@adapt_options
@session_options
@reports_errors
def play(**options):
    """Play a phrase; the companion answers in tempo. Ctrl-C ends the session."""
    from livegen.live.session import Session

    check_combination(**options)
    bindings = knob_bindings(**options)
    learn = learn_order(**options)
    loaded, *alternatives = load_presets(options["preset_names"])
    companion = companion_config(key_mode=loaded.key_mode, knobs=tuple(bindings.items()), learn=learn, **options)
    session = Session(loaded, companion, sampling_config(loaded, **options), ports_config(**options),
                      seed=options["seed"], record=options["record"], log=lambda text: click.echo(text, err=True),
                      latency_offset_ms=options["latency_offset"], alternatives=tuple(alternatives),
                      memory_path=options["memory_path"], timing_path=options["timing_path"])
    run_session(session, preset_name=loaded.name, learn=learn, **options)


def run_session(session, *, preset_name, learn, bpm, mode, learn_file, duration, quiet, **_) -> None:
    """Open the ports, play until the session stops, close, and say why it stopped; exit 1 if it failed."""
    from livegen.live import ports
    from livegen.live.session import print_status

    try:
        session.open()
        if learn:
            session.companion.on_learned = _learner(learn_file, session.companion)
            click.echo(f"MIDI learn: move the knob for {learn[0]}", err=True)
        tempo = "tempo from your first phrase" if bpm == "auto" else f"{bpm:g} bpm"
        what = "play; it plays along" if mode == "accompany" else "play a phrase"
        also = "".join(f" and {port.name!r}" for port in session.output_ports[1:])
        click.echo(f"livegen ready: preset {preset_name!r}, {tempo}; in {session.input_port.name!r}, "
                   f"out {session.output_ports[0].name!r}{also}. {what[0].upper() + what[1:]}; Ctrl-C to stop.",
                   err=True)
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
    if session.bug is not None:
        raise bug(session.bug, "played")
    if session.failed or problems:
        sys.exit(1)


def _learner(path: Path, companion):
    """What MIDI learn says and does after each knob: ask for the next, save when all are bound."""
    from livegen.live import knobs

    def learned(name, control, left):
        click.echo(f"{name} -> CC {control}" + (f"; now move the knob for {left[0]}" if left else ""), err=True)
        if not left:
            knobs.save(path, companion.knobs)
            click.echo(f"saved the knobs to {path}; use them with --knobs {path}", err=True)

    return learned


@click.command()
@click.option("--out", "output_name", required=True, help="Output port to silence.")
@click.option("--channel", "channels", type=click.IntRange(1, 16), multiple=True,
              help="Channel to silence (repeatable; default: all 16).")
@backend_option
@reports_errors
def panic(output_name, channels, backend):
    """Silence a synth: sustain pedal up, all notes off, all sound off."""
    from livegen.live import ports

    use_backend(backend)
    try:
        port = ports.open_output(output_name)
        try:
            ports.send_panic(port, [], [c - 1 for c in channels] or range(16))
        finally:
            port.close()
    except ports.PortError as error:
        raise Failure(str(error)) from error
    click.echo(f"silenced {port.name}")


@click.command()
@click.option("--out", "output_name", default=None, help="Output port the probe notes go out of (e.g. to the DAW).")
@click.option("--in", "input_name", default=None, help="Input port they come back on.")
@click.option("--virtual", is_flag=True, help="Make the ports 'livegen play --virtual' makes (livegen-out:answer, "
                                             "livegen:in); route them through the DAW while it waits.")
@click.option("--count", type=click.IntRange(3, 1000), default=20, show_default=True)
@click.option("--wait", type=click.FloatRange(1, 600), default=30, show_default=True,
              help="Seconds to wait for the first note to come back.")
@backend_option
@reports_errors
def calibrate(output_name, input_name, virtual, count, wait, backend):
    """Measure the MIDI round trip out and back in, and save it as the output's latency offset."""
    import threading
    import time

    from livegen.live import calibrate as calibration, ports
    from livegen.live.listener import Listener

    if not virtual and (output_name is None or input_name is None):
        raise click.UsageError("name both ports (--out and --in, see 'livegen ports') or use --virtual")
    use_backend(backend)
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
