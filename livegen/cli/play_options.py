"""``livegen play``'s options in groups: each group's options build one value by keyword (a frozen
config, or the keywords of the companion's config that the group sets) and the group checks how its
own options go together. ``play`` receives the built values, never the loose options; the one rule
across groups (``check_clock``) reads the built values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
from click.core import ParameterSource

from livegen.cli.options import (LimitType, NoteType, SamplingChoice, ShareType, TempoType, backend_option,
                                 cadence_option, follow_dynamics_option, option_group, polyphony_option, stacked,
                                 temperature_option, top_p_option)
from livegen.live.engine import config as engine_config
from livegen.live.calibrate import MAX_OFFSET_MS
from livegen.live.knobs import KNOBS
from livegen.live.session import LinkConfig, PortsConfig, SessionConfig
from livegen.model import sampling
from livegen.model.session_model import DEFAULT_ADAPT, check_adapt

DEFAULT_AUTO_START_BPM = 100.0  # the tempo a session with --bpm auto keeps until the first phrase sets one


def check_ports(config: PortsConfig) -> None:
    """Refuse port options that cannot go together, before any port is opened."""
    if not config.virtual and (config.input_name is None or config.output_name is None) and not config.create:
        raise click.UsageError("name both ports (--in KEYBOARD --out SYNTH; see 'livegen ports'), "
                               "or use --virtual to make ports to connect to")
    if config.reconnect and config.virtual:
        raise click.UsageError("--reconnect waits for ports named with --in/--out/--clock; --virtual ports are "
                               "livegen's own and never disappear (connect them again with your patchbay)")


def tempo_settings(*, bpm, beats_per_bar, send_clock, metronome, metronome_channel, count_in) -> dict:
    """The companion's tempo, bar and clicks; the metronome's channel goes from 1-16 to MIDI's 0-15."""
    auto_tempo = bpm == "auto"
    if auto_tempo and (metronome or send_clock):
        raise click.UsageError("--bpm auto takes the tempo from your playing: it cannot go with --metronome or "
                               "--send-clock, which set the beat themselves")
    if auto_tempo and count_in:
        raise click.UsageError("--bpm auto takes the tempo from your playing: a --count-in needs a tempo to count in")
    return {"bpm": DEFAULT_AUTO_START_BPM if auto_tempo else bpm, "auto_tempo": auto_tempo,
            "beats_per_bar": beats_per_bar, "send_clock": send_clock,
            "metronome_channel": metronome_channel - 1 if metronome or count_in else None,
            "click_bars": None if metronome else count_in}


def check_clock(ports: PortsConfig, tempo: dict, session: SessionConfig) -> None:
    """Following another clock leaves no beat of livegen's own to set, send or click; one clock at a time."""
    if ports.clock_name and session.link is not None:
        raise click.UsageError("--clock follows a MIDI clock and --link an Ableton Link session: choose one")
    if ports.clock_name:
        option, follows = "--clock", "another clock"
    elif session.link is not None:
        option, follows = "--link", "the Link session's beat"
    else:
        return
    if tempo["auto_tempo"]:
        raise click.UsageError(f"--bpm auto takes the tempo from your playing: it cannot go with {option}, which "
                               "sets the beat itself")
    if tempo["send_clock"] or tempo["metronome_channel"] is not None:
        raise click.UsageError(f"{option} follows {follows}: it cannot go with --metronome, --count-in or --send-clock")


@dataclass(frozen=True)
class KnobSetup:
    """Controllers bound to knobs, and the knobs ``--learn`` asks for (in order) with the file it saves."""

    bindings: tuple[tuple[int, str], ...]  # (controller, knob name)
    learn: tuple[str, ...]
    learn_file: Path | None


def knob_setup(*, knob_bindings, knob_file, learn_file, learn_knobs) -> KnobSetup:
    """Those saved in ``--knobs``, then each ``--knob NAME=CC`` over them; ``--learn``'s order."""
    from livegen.live import knobs

    bindings = knobs.load(knob_file) if knob_file else {}
    for text in knob_bindings:
        try:
            cc, name = knobs.parse_binding(text)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--knob") from error
        bindings[cc] = name
    learn = tuple(name.strip() for name in learn_knobs.split(",") if name.strip()) if learn_file else ()
    return KnobSetup(tuple(bindings.items()), learn, learn_file)


def check_range(choice: SamplingChoice) -> None:
    if choice.lowest > choice.highest:
        raise click.BadParameter(f"the lowest note ({choice.lowest}) is above the highest ({choice.highest})",
                                 param_hint="--lowest")


def session_config(*, seed, record, timing_path, out_latency_ms, memory_path, link, link_start_stop) -> SessionConfig:
    """What the session keeps, and whether it follows a Link session (proposing --bpm if the player gave one)."""
    if link_start_stop and not link:
        raise click.UsageError("--link-start-stop starts and stops with an Ableton Link session: add --link")
    named = [name for name, _ in out_latency_ms]
    if len(set(named)) < len(named):
        twice = next(name for name in named if named.count(name) > 1)
        raise click.BadParameter(f"{'--out' if twice is None else repr(twice)} is given two offsets",
                                 param_hint="--out-latency-ms")
    bpm_given = click.get_current_context().get_parameter_source("bpm") is not ParameterSource.DEFAULT
    return SessionConfig(seed=seed, record=record, timing_path=timing_path, out_latency_ms=tuple(out_latency_ms),
                         memory_path=memory_path,
                         link=LinkConfig(start_stop=link_start_stop, propose_tempo=bpm_given) if link else None)


def check_latencies(ports: PortsConfig, session: SessionConfig) -> None:
    """Each output named with --out-latency-ms is one the answer goes to."""
    outputs = (ports.output_name, *ports.more_outputs)
    for name, _ in session.out_latency_ms:
        if name is not None and name not in outputs:
            raise click.BadParameter(f"{name!r} is neither --out nor an --also-out: give the port as you named it "
                                     "there (or MS alone for --out)", param_hint="--out-latency-ms")


def check_memory_folder(config: SessionConfig) -> None:
    path = config.memory_path
    if path is not None and not path.absolute().parent.is_dir():
        raise click.BadParameter(f"there is no folder {str(path.absolute().parent)!r} to keep it in",
                                 param_hint="--session-memory")


class OutLatencyType(click.ParamType):
    """``MS`` (for --out) or ``PORT=MS``: milliseconds an output is sent early, within calibrate's range."""

    name = "[PORT=]MS"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        port, _, number = value.rpartition("=")
        try:
            ms = float(number)
        except ValueError:
            self.fail(f"{value!r} is not MS or PORT=MS (milliseconds, e.g. 20 or 'fluidsynth=35')", param, ctx)
        if not 0 <= ms <= MAX_OFFSET_MS:
            self.fail(f"an output can be sent 0 to {MAX_OFFSET_MS:g} ms early, got {ms:g}", param, ctx)
        return (port or None, ms)


def _midi_channel(context, param, channel):
    """A channel as musicians count (1-16) to MIDI's 0-15."""
    return None if channel is None else channel - 1


def _program_number(context, param, program):
    """A General MIDI program as musicians count (1-128) to MIDI's 0-127."""
    return None if program is None else program - 1


port_group = option_group(
    "ports", PortsConfig,
    click.option("--in", "input_name", default=None,
                 help="Keyboard port (exact, without ALSA numbers, or a unique part)."),
    click.option("--out", "output_name", default=None, help="Synth or DAW port the answer goes to."),
    click.option("--virtual", is_flag=True,
                 help="Make virtual ports 'livegen:in' and 'livegen-out:answer' to connect to."),
    click.option("--create", is_flag=True, help="Make a virtual port for a name that does not exist."),
    backend_option,
    click.option("--thru", is_flag=True, help="Pass the player's notes through to the output too."),
    click.option("--thru-to", default=None, metavar="PORT",
                 help="Pass the player's notes to this port instead (e.g. the DAW track that records you)."),
    click.option("--also-out", "more_outputs", multiple=True, metavar="PORT",
                 help="Send the answer to this port as well (repeatable): a second synth, a DAW track."),
    click.option("--program", type=click.IntRange(1, 128), default=None, callback=_program_number,
                 help="General MIDI program (instrument) sent on --out-channel at start, e.g. 1 piano, 20 organ."),
    click.option("--clock", "clock_name", default=None,
                 help="Follow the MIDI clock (tempo, start/stop, song position) from this port; 'in' for --in's."),
    click.option("--reconnect", is_flag=True,
                 help="When a port named with --in, --out or --clock disappears, wait for it to come back and "
                      "carry on (default: stop the session)."),
    check=check_ports,
)

preset_option = click.option(
    "--preset", "preset_names", multiple=True, default=("chorale",), show_default=True,
    help="Bundled preset name or preset folder; repeat it to switch between them with the preset knob.")

playing_group = option_group(
    "playing", dict,
    click.option("--mode", type=click.Choice(["answer", "accompany"]), default="answer", show_default=True,
                 help="answer: call and response; accompany: play along while you play."),
    click.option("--rest-bars", type=LimitType(engine_config.REST_BARS), default=2, show_default=True,
                 help="accompany: after this many bars of your silence the model finishes its bar and rests."),
    click.option("--adapt", type=ShareType(check_adapt), default=DEFAULT_ADAPT, show_default=True,
                 help="How much of your own playing goes into the answer: the companion learns your phrases as "
                      "you play and mixes them in; 0 answers from the preset alone."),
)

tempo_group = option_group(
    "tempo", tempo_settings,
    click.option("--bpm", type=TempoType(), default="100", show_default=True,
                 help="Tempo, or 'auto': the tempo of your first phrase (60-180 bpm)."),
    click.option("--beats-per-bar", type=LimitType(engine_config.BEATS_PER_BAR), default=4, show_default=True),
    click.option("--send-clock", is_flag=True, help="Be the MIDI clock master: send start, 24 PPQN clock and stop."),
    click.option("--metronome", is_flag=True,
                 help="Click every beat; the click, not your first note, sets the bar."),
    click.option("--metronome-channel", type=LimitType(engine_config.CHANNELS["metronome_channel"]),
                 default=10, show_default=True),
    click.option("--count-in", type=LimitType(engine_config.COUNT_IN), default=None, metavar="BARS",
                 help="Click this many bars before you play; the click sets the bar (with --metronome it goes "
                      "on)."),
)

answer_group = option_group(
    "answer", dict,
    click.option("--phrase-end", "phrase_end_beats", type=LimitType(engine_config.PHRASE_END), default=1.0,
                 show_default=True, help="Beats of silence (no key held, pedal up) that end a phrase."),
    click.option("--end-phrase-cc", type=LimitType(engine_config.END_PHRASE_CC), default=None,
                 help="A controller that ends the phrase at once (e.g. a foot switch)."),
    click.option("--answer-bars", type=LimitType(engine_config.ANSWER_BARS), default=None,
                 help="Bars the answer lasts (default: as long as the call)."),
    click.option("--max-answer-bars", type=LimitType(engine_config.MAX_ANSWER_BARS), default=8, show_default=True),
    click.option("--start-on", type=click.Choice(["beat", "bar"]), default="beat", show_default=True,
                 help="The answer starts on the next beat or the next bar after the phrase ends."),
    click.option("--yield/--no-yield", "yield_to_player", default=True, show_default=True,
                 help="Stop the answer when the player starts again."),
    click.option("--in-channel", type=LimitType(engine_config.CHANNELS["in_channel"]), default=None,
                 callback=_midi_channel, help="Only hear this channel (default: all)."),
    click.option("--out-channel", type=LimitType(engine_config.CHANNELS["out_channel"]), default=1,
                 show_default=True, callback=_midi_channel),
    follow_dynamics_option,
)

knob_group = option_group(
    "knobs", knob_setup,
    click.option("--knob", "knob_bindings", multiple=True, metavar="NAME=CC",
                 help="Bind a controller to a setting (repeatable): " + ", ".join(KNOBS)
                      + ". E.g. --knob temperature=21"),
    click.option("--knobs", "knob_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 default=None, help="Knob bindings saved by --learn (JSON: {\"temperature\": 21})."),
    click.option("--learn", "learn_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="MIDI learn: move each knob when asked; the bindings are saved to this file."),
    click.option("--learn-knobs", default="temperature,top-p,answer-bars,key-lock", show_default=True,
                 help="Which knobs --learn asks for, in order."),
)

sampling_group = option_group(
    "sampling", SamplingChoice,
    temperature_option(0.9),
    top_p_option,
    polyphony_option,
    click.option("--density", type=LimitType(sampling.DENSITY), default=1.0, show_default=True,
                 help="Above 1, more notes than the preset would play; below 1, fewer."),
    click.option("--lowest", type=NoteType(), default="A0", show_default=True,
                 help="Lowest note the model plays (name or number)."),
    click.option("--highest", type=NoteType(), default="C8", show_default=True,
                 help="Highest note the model plays."),
    click.option("--key-lock", is_flag=True, help="Answer only with notes of the call's scale."),
    cadence_option,
    check=check_range,
)

session_group = option_group(
    "session", session_config,
    click.option("--seed", type=int, default=None),
    click.option("--record", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="Write player and answer to this .mid when the session ends."),
    click.option("--log-timing", "timing_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 metavar="FILE", help="Write when each message was heard and sent (and when it was due), in "
                                      "seconds, as JSON lines to FILE when the session ends: for timing problems."),
    click.option("--out-latency-ms", "out_latency_ms", type=OutLatencyType(), multiple=True,
                 metavar="[PORT=]MS", help="Send this many ms early to --out (MS), or to the output named PORT "
                                           "(--out's or an --also-out's name, as given there): a slow synth or a "
                                           "DAW track's monitoring delay then lands on the beat. Repeatable. "
                                           "Default for each: what 'livegen calibrate' measured for it, else 0."),
    click.option("--session-memory", "memory_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 metavar="FILE", help="Remember what it learned of you: read FILE at the start (if it exists), "
                                      "write it at the end."),
    click.option("--link", is_flag=True,
                 help="Join the Ableton Link session on this network: its tempo, beat and bar line (the bar has "
                      "--beats-per-bar beats); a --bpm given is proposed to it. Needs the link extra: "
                      "pip install 'livegen[link]'."),
    click.option("--link-start-stop", is_flag=True,
                 help="With --link: play only while the Link session plays, starting on its bar line."),
    check=check_memory_folder,
)

running_options = stacked(
    click.option("--duration", type=click.FloatRange(0.1, None), default=None,
                 help="Stop after this many seconds."),
    click.option("--quiet", is_flag=True, help="No live status line."),
)
