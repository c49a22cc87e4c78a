"""What a bounded re-prime costs musically: the next bar's loss after the seed window's last N tokens.

For every bar of the chorale preset's held-out calls that has 8 bars before it (in one meter),
the model is primed from a fresh state as a re-prime does, once with all 8 bars and once with
``codec.tail`` of them for each budget, and the next bar's tokens are scored (nats per token).
Usage: ``python scripts/reprime_window_loss.py [BUDGET ...]`` from the repository root.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from livegen.music import codec, voices

from livegen.model import preset
from livegen.music.hearing import hearing
from livegen.music.midifile import read_midi
from livegen.model.runtime import StepModel

SEED_BARS = 8
PRESET = "chorale"


def losses(model: StepModel, prime: list[int], target: list[int], meter: codec.Meter) -> float:
    """Summed negative log-likelihood of ``target`` after ``prime``, from a fresh state (both read as one stream)."""
    state = model.initial_state()
    stream = prime + target
    heard = voices.read(stream, codec.Cursor(meter, stream[0]))
    logits = model.feed(prime, state, heard[:len(prime)])
    total = 0.0
    for token, row in zip(target, heard[len(prime):]):
        values = logits.astype(np.float64)
        top = values.max()
        total += top + math.log(np.exp(values - top).sum()) - values[token]
        logits = model.step(token, state, row)
    return total


def windows(loaded: preset.Preset):
    """(piece, seed tokens, next bar's tokens) for every bar with 8 bars of one meter before it."""
    for path in sorted((loaded.path / "calls").glob("*.mid")):
        piece = read_midi(path)
        heard = hearing(loaded.key_mode, piece.notes)
        notes = heard.notes(piece.notes)
        meter = piece.meter
        last_bar = meter.locate(max(note.onset for note in notes))[0]
        for bar in range(SEED_BARS, last_bar):  # the last bar is often a held final chord: left out
            bar_ticks = meter.bar_ticks(bar)
            if any(meter.bar_ticks(other) != bar_ticks for other in range(bar - SEED_BARS, bar)):
                continue
            start, end = meter.bar_start(bar - SEED_BARS), meter.bar_start(bar + 1)
            moved = codec.rebase([n for n in notes if start <= n.onset < end], start)
            one_meter = codec.Meter(((0, bar_ticks),))
            seed = codec.encode([n for n in moved if n.onset < SEED_BARS * bar_ticks], one_meter,
                                bars=SEED_BARS, bar_token=heard.bar_token)
            whole = codec.encode(moved, one_meter, bars=SEED_BARS + 1, bar_token=heard.bar_token)
            yield path.stem, seed, whole[len(seed):], one_meter


def main(budgets: list[int]) -> None:
    loaded = preset.load(PRESET)
    model = StepModel(loaded.weights)
    rows = []
    for piece, seed, target, meter in windows(loaded):
        row = {"piece": piece, "seed": len(seed), "target": len(target),
               "all 8 bars": losses(model, seed, target, meter), "no priming": losses(model, [], target, meter)}
        for budget in budgets:
            row[budget] = losses(model, codec.tail(seed, budget), target, meter)
        rows.append(row)
    tokens = sum(row["target"] for row in rows)
    seeds = [row["seed"] for row in rows]
    print(f"{len(rows)} bars of {len({row['piece'] for row in rows})} pieces, {tokens} target tokens; "
          f"8-bar seed: median {int(np.median(seeds))} tokens ({min(seeds)}-{max(seeds)})")
    reference = np.array([row["all 8 bars"] / row["target"] for row in rows])
    for name in ["all 8 bars", *budgets, "no priming"]:
        per_bar = np.array([row[name] / row["target"] for row in rows]) - reference
        print(f"{name!s:>10}: {sum(row[name] for row in rows) / tokens:.4f} nats/token, vs all 8 bars "
              f"{per_bar.mean():+.4f} +- {per_bar.std(ddof=1) / math.sqrt(len(rows)):.4f} (mean per bar, SE)")


if __name__ == "__main__":
    main([int(budget) for budget in sys.argv[1:]] or [16, 32, 48, 64, 96, 128, 160, 192, 256])
