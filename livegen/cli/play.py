"""``livegen play`` (the live companion), ``panic`` and ``calibrate``: the commands that hold MIDI ports.

``play``'s options come in groups (``livegen.cli.play_options``), each building the value it names:
``play`` puts them together.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from livegen.cli.errors import Failure, bug, reports_errors
from livegen.cli.options import backend_option
from livegen.cli.play_options import (KnobSetup, answer_group, check_clock, check_latencies, knob_group, playing_group,
                                      port_group, preset_option, running_options, sampling_group, session_group,
                                      tempo_group)
from livegen.cli.ports import use_backend


def load_presets(preset_names):
    """The presets named with ``--preset``, which must all meet keys the same way to be switched between."""
    from livegen.model import preset as presets
    from livegen.music.key import transposes

    loaded = tuple(presets.load(name) for name in preset_names)
    if any(transposes(other.key_mode) != transposes(loaded[0].key_mode) for other in loaded[1:]):
        raise click.BadParameter("presets to switch between must all meet keys the same way (moved to C major / "
                                 "A minor, or as-is); see each one's card", param_hint="--preset")
    return loaded


@click.command()
@reports_errors
@port_group
@preset_option
@playing_group
@tempo_group
@answer_group
@knob_group
@sampling_group
@session_group
@running_options
def play(ports, preset_names, playing, tempo, answer, knobs, sampling, session, duration, quiet):
    """Play a phrase; the companion answers in tempo. Ctrl-C ends the session."""
    from livegen.live.engine import CompanionConfig
    from livegen.live.session import Session

    check_clock(ports, tempo, session)
    check_latencies(ports, session)
    presets = load_presets(preset_names)
    companion = CompanionConfig(**playing, **tempo, **answer, key_mode=presets[0].key_mode, key_lock=sampling.key_lock,
                                knobs=knobs.bindings, learn=knobs.learn)
    run_session(Session(presets, companion, sampling.config(presets[0]), ports, session,
                        log=lambda text: click.echo(text, err=True)), knobs, duration, quiet)


def run_session(session, knobs: KnobSetup, duration: float | None, quiet: bool) -> None:
    """Open the ports, play until the session stops, close, and say why it stopped; exit 1 if it failed."""
    from livegen.live import ports
    from livegen.live.session import print_status

    config = session.companion_config
    try:
        session.open()
        if knobs.learn:
            session.companion.on_learned = _learner(knobs.learn_file, session.companion)
            click.echo(f"MIDI learn: move the knob for {knobs.learn[0]}", err=True)
        tempo = "tempo from your first phrase" if config.auto_tempo else f"{config.bpm:g} bpm"
        what = "play; it plays along" if config.mode == "accompany" else "play a phrase"
        also = "".join(f" and {port.name!r}" for port in session.output_ports[1:])
        click.echo(f"livegen ready: preset {session.preset.name!r}, {tempo}; in {session.input_port.name!r}, "
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
               f"{output.name}' (or --also-out) now sends that much early; '--out-latency-ms "
               f"{result['median_ms']}' says so for one session")
