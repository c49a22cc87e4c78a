"""Train a bundled preset reproducibly from music21's own corpus: ``python -m livegen.training.bundled NAME``.

Each style names its corpus pieces, how they are exported and how the model is sized. The
pieces go through :func:`livegen.training.midi_folder.piece_from_score` (pickups kept off the beat) into
one ``.mid`` per piece in a work folder outside the repository (reused when complete), then
:func:`livegen.training.trainer.train` fits the preset into ``presets/NAME`` with a fixed seed, its log
appended to ``presets/NAME.log``. After training the model card gains the evaluation
(:mod:`livegen.training.card`). An interrupted run continues with ``--resume``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import click

from livegen.model.preset import DEFAULT_TOP_P, bundled_dir
from livegen.music.key import KEY_MODES
from livegen.training import card  # with STYLES, at start-up: one version of both (a stale card: rerun --card-only)
from livegen.training.config import TrainConfig

REPOSITORY = Path(__file__).resolve().parent.parent
PRESETS = bundled_dir()
EXPORT_MARKER = "export.json"
EXPORT_VERSION = 1  # bump when exporting changes, so old work folders are rebuilt


@dataclass(frozen=True)
class Style:
    """A bundled preset: which corpus pieces it learns from, and how it is trained."""

    name: str
    description: str
    corpus: str  # the corpus folders, in words, for the model card
    pieces: Callable[[], Iterator[tuple[str, Callable]]]  # (piece name, score loader)
    max_pieces: int
    config: TrainConfig
    top_p: float = DEFAULT_TOP_P  # what it plays at (preset.json's sampling), chosen with its card
    cadence: bool = True  # whether its answers close on the tonic chord (preset.json's sampling), likewise


def corpus_dir() -> Path:
    """music21's bundled corpus folder."""
    from music21 import corpus

    return Path(corpus.__file__).resolve().parent


def _parse(path: Path):
    from music21 import converter

    return converter.parse(str(path), forceSource=True, storePickle=False)


def _file_pieces(paths) -> Iterator[tuple[str, Callable]]:
    """One piece per file."""
    for path in paths:
        yield path.stem, lambda path=path: _parse(path)


def _opus_pieces(paths) -> Iterator[tuple[str, Callable]]:
    """Every tune of every file: an ABC collection (an Opus) is split into its scores."""
    from music21 import stream

    for path in paths:
        try:
            parsed = _parse(path)
        except Exception as error:  # a broken collection is skipped with its reason, never fatal
            yield path.stem, lambda error=error: _raise(error)
            continue
        scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
        for index, score in enumerate(scores):
            yield f"{path.stem}-{index:04d}", lambda score=score: score


def _raise(error: Exception):
    raise error


def chorale_pieces() -> Iterator[tuple[str, Callable]]:
    """Bach's chorales: the ``bach`` folder less its one prelude (BWV 846) and kern duplicates."""
    folder = corpus_dir() / "bach"
    files = sorted(path for path in folder.iterdir() if path.suffix in {".mxl", ".xml", ".krn"})
    stems = {path.stem for path in files if path.suffix != ".krn"}
    chosen = [path for path in files
              if path.stem != "bwv846" and not (path.suffix == ".krn" and path.stem in stems)]
    return _file_pieces(chosen)


def folk_pieces() -> Iterator[tuple[str, Callable]]:
    """O'Neill's Music of Ireland (1850) and Ryan's Mammoth Collection (1883), tune by tune.

    The Essen collection is left out: its licence allows non-commercial use only.
    """
    root = corpus_dir()
    collections = [sorted((root / "oneills1850").glob("*.abc")),
                   sorted((root / "ryansMammoth").glob("*.abc"))]
    return _opus_pieces([path for paths in collections for path in paths])


def renaissance_pieces() -> Iterator[tuple[str, Callable]]:
    """Monteverdi's madrigals (books 3-5), then every fourth Palestrina mass movement."""
    root = corpus_dir()
    madrigals = sorted((root / "monteverdi").glob("*.mxl"))
    masses = sorted((root / "palestrina").glob("*.krn"))[::4]
    return _file_pieces(madrigals + masses)


# Every fit hears voices (what still sounds, what the last onset struck: livegen.music.voices),
# which moved the style test most of all levers measured (BENCHMARKS.md), and trains in mixed
# bfloat16 at batch 64 and learning rate 0.004: twice the targets a second of float32 at batch 32
# on a CPU with bfloat16 instructions, and a lower held-out loss in the same minutes. Sized so a
# fit takes at most 30 minutes on a two-core machine (folk, with three times the others' 1.3 M
# tokens, 35); early stopping may end it sooner. The bars tell the mode ("canonical+mode"): once
# in C major / A minor, the relative keys share every note and answers drifted between them.
# Only 16% of folk's tunes are minor (the others' ~40%): each is also trained 3 times an epoch.
# Chorale is not told the mode: a chorale fit told it answered better (key correlation 0.91
# against 0.82) but no longer thinned under the density knob (20 notes a bar at density 0.3 and at 1).
_BASE = TrainConfig(epochs=200, embedding=64, hidden=256, layers=2, dropout=0.2, seq_len=256,
                    batch=64, key_mode="canonical+mode", patience=4, learning_rate=4e-3, seed=0,
                    max_minutes=30.0, precision="mixed_bfloat16", voices=True)

STYLES = {
    style.name: style for style in (
        Style("chorale", "Four-part chorales of J. S. Bach", "music21 corpus `bach/` (chorales)",
              chorale_pieces, 500, replace(_BASE, max_minutes=35.0),
              # a held last bar is unlike Bach's continuations: the style test 0.678 -> 0.737 (a
              # half bar 0.719, the last bar on the tonic triad 0.707); it names the key without it
              cadence=False),
        Style("folk", "Folk tunes: O'Neill's Music of Ireland (1850) and Ryan's Mammoth Collection (1883)",
              "music21 corpus `oneills1850/` (ABC collections, split into tunes) and `ryansMammoth/`",
              folk_pieces, 4000, replace(_BASE, minor_repeat=3, max_minutes=35.0),
              top_p=1.0),  # cutting the tail took the grace notes out: 0.03 in 8 bars, real tunes 0.98
        Style("renaissance", "Renaissance polyphony: Monteverdi madrigals and Palestrina masses",
              "music21 corpus `monteverdi/` (madrigals) and `palestrina/` (every fourth mass movement)",
              renaissance_pieces, 400, replace(_BASE, max_minutes=40.0)),
    )
}


def cache_root() -> Path:
    """Where exported pieces are kept: ``$XDG_CACHE_HOME/livegen/bundled`` (``~/.cache`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "livegen" / "bundled"


def export_pieces(style: Style, folder: Path, limit: int | None, log) -> dict:
    """Write the style's pieces as ``.mid`` files into ``folder``; reuse a complete earlier export."""
    from livegen.music.midifile import write_midi
    from livegen.training.midi_folder import piece_from_score

    marker = folder / EXPORT_MARKER
    wanted = style.max_pieces if limit is None else min(limit, style.max_pieces)
    if marker.is_file():
        summary = json.loads(marker.read_text(encoding="utf-8"))
        if summary.get("version") == EXPORT_VERSION and summary.get("wanted") == wanted:
            log(f"reusing the export in {folder}: {summary['written']} pieces")
            return summary
    folder.mkdir(parents=True, exist_ok=True)
    written, skipped = [], []
    started = time.perf_counter()
    for name, load in style.pieces():
        if len(written) >= wanted:
            break
        target = folder / f"{name}.mid"
        try:
            if not target.is_file():
                piece = piece_from_score(load())
                if not piece.notes:
                    raise ValueError("it holds no notes")
                write_midi(target, [(name, piece.notes, 0)], piece.meter, piece.tempo_bpm)
        except Exception as error:  # a piece music21 cannot read is skipped with its reason
            skipped.append({"piece": name, "reason": f"{type(error).__name__}: {error}"})
            continue
        written.append(name)
        if len(written) % 100 == 0:
            log(f"exported {len(written)} pieces ({time.perf_counter() - started:.0f} s)")
    summary = {"version": EXPORT_VERSION, "wanted": wanted, "written": len(written),
               "pieces": written, "skipped": skipped}
    marker.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    log(f"exported {len(written)} pieces to {folder} in {time.perf_counter() - started:.0f} s; "
        f"skipped {len(skipped)}")
    return summary


def file_logger(path: Path) -> Callable[[str], None]:
    """A log function that prints and appends time-stamped lines to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        # The log is committed beside the preset: no paths of the machine that trained it.
        text = str(message).replace(str(REPOSITORY), ".").replace(str(Path.home()), "~")
        with open(path, "a", encoding="utf-8") as handle:
            for line in text.splitlines() or [""]:
                handle.write(f"{stamp} {line}\n")
        print(message, flush=True)

    return log


def build(name: str, resume: bool = False, limit: int | None = None, out: Path | None = None,
          epochs: int | None = None, card_only: bool = False, max_minutes: float | None = None,
          **changes) -> Path:
    """Export, train and describe one bundled preset; returns its directory.

    ``changes``: TrainConfig fields to try other than the style's (the card records them).
    """
    style = STYLES[name]
    out = Path(out) if out is not None else PRESETS / name
    shipped = PRESETS / name
    before = shipped if out.resolve() != shipped.resolve() else None  # compared with the one it would replace
    folder = cache_root() / (name if limit is None else f"{name}-first{limit}")
    log = file_logger(out.parent / f"{out.name}.log")
    config = replace(style.config, **{field: value for field, value in changes.items() if value is not None})
    if epochs is not None:
        config = replace(config, epochs=epochs)
    if max_minutes is not None:
        config = replace(config, max_minutes=max_minutes)
    if not card_only:
        log(f"== {name}: {style.description}; resume={resume}, limit={limit}")
        export_pieces(style, folder, limit, log)
        from livegen.training.trainer import train

        train(folder, out, config, resume=resume, log=log)
    card.complete_card(style, folder, out, config, log, before)
    return out


@click.command()
@click.argument("name", type=click.Choice(sorted(STYLES)))
@click.option("--resume", is_flag=True, help="Continue an interrupted fit from its checkpoint.")
@click.option("--limit", type=click.IntRange(2), help="Smoke test: only the first N pieces.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Preset directory (default presets/NAME).")
@click.option("--epochs", type=click.IntRange(1), help="Override the epoch cap (smoke tests).")
@click.option("--max-minutes", type=click.FloatRange(0, 100_000),
              help="Override the fitting-time cap (a resumed fit may change it; 0: none).")
@click.option("--card-only", is_flag=True, help="Only (re)write the model card of a trained preset.")
@click.option("--minor-repeat", type=click.IntRange(1, 8),
              help="Try another minor-piece repeat than the style's (experiments: write to --out).")
@click.option("--key-mode", type=click.Choice(KEY_MODES),
              help="Try another key mode than the style's (experiments: write to --out).")
def main(name, resume, limit, out, epochs, max_minutes, card_only, minor_repeat, key_mode) -> None:
    """Train the bundled preset NAME from music21's corpus, reproducibly."""
    build(name, resume, limit, out, epochs, card_only, max_minutes, minor_repeat=minor_repeat, key_mode=key_mode)


if __name__ == "__main__":
    sys.exit(main())
