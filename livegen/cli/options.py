"""Options more than one command takes, ``play``'s option groups, and the types they parse."""

from __future__ import annotations

from pathlib import Path

import click

from livegen.limits import Limit
from livegen.live.clock import check_tempo
from livegen.live.engine import config as engine_config
from livegen.live.knobs import KNOBS
from livegen.model.session_model import DEFAULT_ADAPT, check_adapt
from livegen.model import sampling
from livegen.music import codec
from livegen.music.dynamics import DEFAULT_FOLLOW, check_follow


class TempoType(click.ParamType):
    """A tempo in bpm (within the clock's range), or 'auto'."""

    name = "BPM|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, float) or value == "auto":
            return value
        try:
            bpm = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a tempo: give beats per minute (e.g. 96) or 'auto'", param, ctx)
        try:
            return check_tempo(bpm)
        except ValueError as error:
            self.fail(str(error), param, ctx)


class ShareType(click.ParamType):
    """A share from 0 to 1, checked by the rule that owns it (``check``), in its own words."""

    name = "0..1"

    def __init__(self, check) -> None:
        self.check = check

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number between 0 and 1", param, ctx)
        try:
            return self.check(number)
        except ValueError as error:
            self.fail(str(error), param, ctx)


follow_dynamics_option = click.option(
    "--follow-dynamics", type=ShareType(check_follow), default=DEFAULT_FOLLOW, show_default=True,
    help="How closely the answer follows your dynamics: 1 plays at your level, keeping the model's accents; "
         "0 keeps the model's own velocities.")


NOTE_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class LimitType(click.ParamType):
    """A number in a setting's range, as the config that owns the setting checks it (``Limit``):
    every command that takes the option refuses the same values with the same words."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        kind = "INTEGER" if limit.integer else "NUMBER"
        self.name = f"{kind} {limit.low:g}..{limit.high:g}"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(value) if self.limit.integer else float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not {'a whole number' if self.limit.integer else 'a number'}", param, ctx)
        try:
            return self.limit.check(number)
        except ValueError as error:
            self.fail(str(error), param, ctx)


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
        if not codec.PITCH_LOW <= number <= codec.PITCH_HIGH:
            self.fail(f"{value!r} is note {number}, outside the piano's A0 ({codec.PITCH_LOW}) to C8 "
                      f"({codec.PITCH_HIGH})", param, ctx)
        return number


def stacked(*decorators):
    """One decorator that applies ``decorators`` so that their options show in the order given."""

    def apply(command):
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


backend_option = click.option(
    "--backend", default=None,
    help="MIDI API: jack, alsa, coremidi, windows-mm, or a mido backend name (default: MIDO_BACKEND).")
top_p_option = click.option("--top-p", type=LimitType(sampling.TOP_P), default=None,
                            help="Sample from the likeliest tokens that make up this share of the odds "
                                 "(default: the preset's own, 0.95 for most; 1 keeps them all).")

cadence_option = click.option("--cadence/--no-cadence", default=None,
                              help="Answers close on the key's tonic chord, held through their last bar "
                                   "(default: the preset's own; on for most).")


def temperature_option(default: float):
    """``--temperature``, with the default each command plays best at."""
    return click.option("--temperature", type=LimitType(sampling.TEMPERATURE), default=default, show_default=True)


top_k_option = click.option("--top-k", type=LimitType(sampling.TOP_K), default=0, show_default=True, help="0 is off.")
min_p_option = click.option("--min-p", type=LimitType(sampling.MIN_P), default=0.0, show_default=True)
polyphony_option = click.option("--polyphony", type=LimitType(sampling.POLYPHONY), default=6, show_default=True,
                                help="Most notes sounding at once.")


port_options = stacked(
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
    click.option("--program", type=click.IntRange(1, 128), default=None,
                 help="General MIDI program (instrument) sent on --out-channel at start, e.g. 1 piano, 20 organ."),
    click.option("--clock", "clock_name", default=None,
                 help="Follow the MIDI clock (tempo, start/stop, song position) from this port; 'in' for --in's."),
    click.option("--reconnect", is_flag=True,
                 help="When a port named with --in, --out or --clock disappears, wait for it to come back and "
                      "carry on (default: stop the session)."),
)

preset_options = stacked(
    click.option("--preset", "preset_names", multiple=True, default=("chorale",), show_default=True,
                 help="Bundled preset name or preset folder; repeat it to switch between them with the preset "
                      "knob."),
    click.option("--mode", type=click.Choice(["answer", "accompany"]), default="answer", show_default=True,
                 help="answer: call and response; accompany: play along while you play."),
    click.option("--rest-bars", type=LimitType(engine_config.REST_BARS), default=2, show_default=True,
                 help="accompany: after this many bars of your silence the model finishes its bar and rests."),
)

tempo_options = stacked(
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

answer_options = stacked(
    click.option("--phrase-end", type=LimitType(engine_config.PHRASE_END), default=1.0, show_default=True,
                 help="Beats of silence (no key held, pedal up) that end a phrase."),
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
                 help="Only hear this channel (default: all)."),
    click.option("--out-channel", type=LimitType(engine_config.CHANNELS["out_channel"]), default=1, show_default=True),
    follow_dynamics_option,
)

knob_options = stacked(
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

sampling_options = stacked(
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
)

adapt_options = stacked(
    click.option("--adapt", type=ShareType(check_adapt), default=DEFAULT_ADAPT, show_default=True,
                 help="How much of your own playing goes into the answer: the companion learns your phrases as "
                      "you play and mixes them in; 0 answers from the preset alone."),
    click.option("--session-memory", "memory_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 metavar="FILE", help="Remember what it learned of you: read FILE at the start (if it exists), "
                                      "write it at the end."),
)

session_options = stacked(
    click.option("--seed", type=int, default=None),
    click.option("--record", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="Write player and answer to this .mid when the session ends."),
    click.option("--log-timing", "timing_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 metavar="FILE", help="Write when each message was heard and sent (and when it was due), in "
                                      "seconds, as JSON lines to FILE when the session ends: for timing problems."),
    click.option("--latency-offset", type=click.FloatRange(0, 500), default=None, metavar="MS",
                 help="Send this many ms early (default: what 'livegen calibrate' measured for --out, else 0)."),
    click.option("--duration", type=click.FloatRange(0.1, None), default=None,
                 help="Stop after this many seconds."),
    click.option("--quiet", is_flag=True, help="No live status line."),
)
