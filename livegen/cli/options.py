"""Options more than one command takes and the types they parse (``play``'s groups: ``play_options``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
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


@dataclass(frozen=True)
class SamplingChoice:
    """How adventurous the answer is and which notes it may use, as the player chose (top-p and cadence:
    None leaves them to the preset)."""

    temperature: float
    top_p: float | None
    polyphony: int
    key_lock: bool
    cadence: bool | None
    density: float = 1.0
    lowest: int = codec.PITCH_LOW
    highest: int = codec.PITCH_HIGH
    top_k: int = 0
    min_p: float = 0.0

    def config(self, preset, scale: frozenset[int] | None = None) -> sampling.SamplingConfig:
        """The sampler's config for ``preset``: its own top-p and cadence where the player gave none;
        ``scale``: the pitch classes a key lock keeps (as the preset hears them)."""
        return sampling.SamplingConfig(temperature=self.temperature, top_p=preset.top_p_or(self.top_p),
                                       top_k=self.top_k, min_p=self.min_p, max_polyphony=self.polyphony,
                                       density=self.density, pitch_low=self.lowest, pitch_high=self.highest,
                                       scale=scale, cadence=preset.cadence_or(self.cadence))


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


def option_group(name: str, build, *decorators, check=None):
    """``decorators``' options, taken by keyword by ``build``; the command receives what it built as ``name``
    (``check`` sees it first)."""

    def probe():
        """Only carries the group's options, to learn their names."""

    stacked(*decorators)(probe)
    names = tuple(param.name for param in probe.__click_params__)

    def apply(command):
        @functools.wraps(command)
        def with_group(*args, **kwargs):
            built = build(**{key: kwargs.pop(key) for key in names})
            if check is not None:
                check(built)
            return command(*args, **kwargs, **{name: built})

        return stacked(*decorators)(with_group)

    return apply
