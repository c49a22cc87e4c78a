"""``livegen generate``: continue a MIDI file offline."""

from __future__ import annotations

from pathlib import Path

import click

from livegen.cli.errors import reports_errors
from livegen.cli.options import (SamplingChoice, cadence_option, follow_dynamics_option, min_p_option, option_group,
                                 polyphony_option, temperature_option, top_k_option, top_p_option)
from livegen.live.clock import TEMPO_RANGE


sampling_group = option_group(
    "sampling", SamplingChoice,
    temperature_option(1.0),
    top_p_option,
    top_k_option,
    min_p_option,
    polyphony_option,
    click.option("--key-lock", is_flag=True, help="Only notes of the prime's scale."),
    cadence_option,
)


@click.command()
@reports_errors
@click.option("--preset", "preset_name", required=True, help="Bundled preset name or preset folder.")
@click.option("--prime", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="A .mid file to continue.")
@click.option("--bars", type=click.IntRange(1, 512), default=8, show_default=True)
@click.option("-o", "--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@sampling_group
@click.option("--seed", type=int, default=None, help="Same seed, same answer.")
@follow_dynamics_option
@click.option("--bpm", type=click.FloatRange(*TEMPO_RANGE), default=None, help="Tempo of the output (default: the prime's).")
def generate(preset_name, prime, bars, out_file, sampling: SamplingChoice, seed, follow_dynamics, bpm):
    """Continue a MIDI file offline and write call and answer to a new .mid."""
    from livegen.model import generate as continuation, preset as presets
    from livegen.music.hearing import hearing
    from livegen.music.key import call_key
    from livegen.music.midifile import read_midi, write_midi
    from livegen.model.runtime import StepModel
    from livegen.model.sampling import Sampler

    loaded = presets.load(preset_name)
    piece = read_midi(prime)
    for warning in piece.warnings:
        click.echo(f"{prime.name}: {warning}", err=True)
    key = call_key(piece.notes)  # as the preset hears the prime
    shift = hearing(loaded.key_mode, piece.notes, key).shift  # where the preset hears the prime's scale
    scale = frozenset((pc + shift) % 12 for pc in key.scale()) if sampling.key_lock else None
    config = sampling.config(loaded, scale)
    result = continuation.continue_notes(StepModel(loaded.weights), loaded.key_mode, piece.notes,
                                         piece.meter, bars, Sampler(config, seed=seed), follow_dynamics)
    tempo = bpm if bpm is not None else piece.tempo_bpm
    write_midi(out_file, [("call", piece.notes, 0), ("answer", result.notes, 1)], piece.meter, tempo)
    pitches = {note.pitch for note in result.notes}
    click.echo(
        f"{out_file}: {len(piece.notes)} notes of call in {key}, then {len(result.notes)} notes "
        f"({len(pitches)} different pitches) over {bars} bars at {tempo:.0f} bpm "
        f"from preset {loaded.name!r}"
    )
