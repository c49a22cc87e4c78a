"""Fine-tuning a preset on a small folder of a style it never learned: how, and is it worth it?

The style is the Chinese folk songs of the Essen collection in music21's corpus
(``essenFolksong/han1.abc``: pentatonic, mostly monophonic tunes in 2/4), which no bundled preset
learned. Its tunes are shuffled with a fixed seed and split by tune, duplicates dropped: the first
``TEST_TUNES`` are the test tunes, the next ``DEV_TUNES`` the tunes the recipe is chosen on, the
rest the training folders of ``SIZES`` tunes (each the first tunes of the next). Each fit holds
out its own files for early stopping as ``livegen train`` does.

``--search`` fits the base preset on the middle folder under several recipes and prints their
loss on the dev tunes, and on the base's own held-out pieces. Without it, for each folder size: the base preset fine-tuned with the
recipe ``livegen train --from`` uses (``livegen.training.config.FINE_TUNE``), the base unchanged, and a
model of the base's size trained from scratch on the same folder for the same minutes; each
measured on the test tunes, and the fine-tune and the base on the base's own held-out pieces
(its ``calls/``): what the fine-tune forgot. Losses are nats per token under the numpy step
runtime, each piece read from a fresh state; base and fine-tunes share one vocabulary, so they
compare per token. Results go to ``WORK/results.json`` after every fit, and a run that finds a fit
there does not repeat it.

Run (one thread, beside other work): ``TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
python scripts/finetune_table.py WORK --base chorale [--search] [--minutes 4]``. ``--sizes`` sets
other folder sizes (a quick look: ``--sizes 3 --minutes 0.01``).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from livegen.evaluate.baseline import MarkovModel
from livegen.evaluate.calls import CALLS_FOLDER, read_calls
from livegen.evaluate.losses import model_loss_per_token
from livegen.model import preset
from livegen.model.runtime import StepModel
from livegen.music.hearing import hear
from livegen.music.midifile import read_midi, write_midi

COLLECTION = ("essenFolksong", "han1.abc")
SIZES = (10, 30, 100)
TEST_TUNES = 40
DEV_TUNES = 20
SEED = 0
# The recipes --search compares, on the middle folder: first the learning rates, then, at the
# best of them, one change at a time.
SEARCH_START = {"epochs": 300, "patience": 8, "batch": 8, "freeze_tables": False}
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3)
VARIATIONS = {"tables frozen": {"freeze_tables": True}, "batch 32": {"batch": 32},
              "patience 4": {"patience": 4}}


def export_tunes(folder: Path, count: int, log) -> list[Path]:
    """The collection's first ``count`` distinct tunes in a seeded shuffle, written as .mid into ``folder``."""
    from music21 import converter

    from livegen.training.bundled import corpus_dir
    from livegen.training.midi_folder import piece_from_score

    marker = folder / "tunes.json"
    if marker.is_file():
        names = json.loads(marker.read_text(encoding="utf-8"))
        if len(names) >= count:
            return [folder / name for name in names[:count]]
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    opus = converter.parse(str(corpus_dir() / COLLECTION[0] / COLLECTION[1]), forceSource=True, storePickle=False)
    scores = list(opus.scores)
    names, seen = [], set()
    for index in np.random.default_rng(SEED).permutation(len(scores)):
        if len(names) == count:
            break
        try:
            piece = piece_from_score(scores[index])
        except Exception as error:  # a tune music21 cannot turn into notes is left out, with its reason
            log(f"tune {index} left out: {type(error).__name__}: {error}")
            continue
        if not piece.notes or tuple(piece.notes) in seen:
            continue  # empty, or the same tune under another number: it would leak across the split
        seen.add(tuple(piece.notes))
        name = f"{Path(COLLECTION[1]).stem}-{int(index):04d}.mid"
        write_midi(folder / name, [(name, piece.notes, 0)], piece.meter, piece.tempo_bpm)
        names.append(name)
    marker.write_text(json.dumps(names, indent=1), encoding="utf-8")
    log(f"exported {len(names)} tunes in {time.perf_counter() - started:.0f} s")
    return [folder / name for name in names]


def linked_folder(folder: Path, files) -> Path:
    """A folder of links to ``files``: what a fit reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        link = folder / path.name
        if not link.exists():
            link.symlink_to(path.resolve())
    return folder


def heard_pieces(key_mode: str, pieces) -> list:
    return [hear(key_mode, piece.notes, piece.meter) for piece in pieces]


def loss(weights: dict, heard) -> float:
    return round(model_loss_per_token(StepModel(weights), heard), 4)


class Runs:
    """Fits and their measurements, kept in ``results.json`` so an interrupted run goes on."""

    def __init__(self, work: Path, log) -> None:
        self.path = work / "results.json"
        self.work, self.log = work, log
        self.results = json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else {}

    def fit(self, name: str, folder: Path, config, base, measure) -> dict:
        """Fit ``config`` on ``folder`` (from ``base``, or from scratch for None), then ``measure`` the preset."""
        if name in self.results:
            return self.results[name]
        from livegen.training.trainer import train

        self.log(f"== {name}")
        started = time.perf_counter()
        log_file = self.work / f"{name}.log"
        with open(log_file, "w", encoding="utf-8") as handle:
            out = train(folder, self.work / "presets" / name, config, base=base,
                        log=lambda line: print(line, file=handle, flush=True))
        fitted = preset.load(str(out))
        result = {"config": asdict(config), "fit_seconds": fitted.config["training"]["seconds"],
                  "wall_seconds": round(time.perf_counter() - started, 1),
                  "epochs_run": fitted.config["training"]["epochs_run"],
                  "card_metrics": fitted.config["metrics"], **measure(fitted)}
        self.results[name] = result
        self.path.write_text(json.dumps(self.results, indent=1), encoding="utf-8")
        self.log(f"   {json.dumps({key: value for key, value in result.items() if key != 'config'})}")
        return result


def search(runs: Runs, base, folder: Path, dev, calls, minutes: float) -> None:
    """Fit the base on ``folder`` under each recipe; print each one's loss on the dev tunes and on the
    base's held-out pieces."""
    from livegen.training.config import fine_tune_config

    def on_dev(fitted):
        return {"dev_loss": loss(fitted.weights, dev), "base_calls_loss": loss(fitted.weights, calls)}

    def recipe(**settings):
        return fine_tune_config(base.config, **{**SEARCH_START, "max_minutes": minutes, **settings})

    rates = {rate: runs.fit(f"search-lr{rate:g}", folder, recipe(learning_rate=rate), base, on_dev)
             for rate in LEARNING_RATES}
    best = min(rates, key=lambda rate: rates[rate]["dev_loss"])
    rows = [(f"learning rate {rate:g}", result) for rate, result in rates.items()]
    for title, change in VARIATIONS.items():
        name = f"search-lr{best:g}-{title.replace(' ', '-')}"
        rows.append((f"learning rate {best:g}, {title}",
                     runs.fit(name, folder, recipe(learning_rate=best, **change), base, on_dev)))
    print(f"\nbase {base.name!r} unchanged: dev loss {loss(base.weights, dev)}, "
          f"its held-out pieces {loss(base.weights, calls)}; folder of {len(list(folder.iterdir()))} tunes")
    print(f"| recipe (all: batch 8, patience 8 unless said) | dev loss | {base.name} held-out pieces "
          "| epochs | fit minutes |")
    print("|---|---|---|---|---|")
    for title, result in rows:
        print(f"| {title} | {result['dev_loss']:.4f} | {result['base_calls_loss']:.4f} | {result['epochs_run']} "
              f"| {result['fit_seconds'] / 60:.1f} |")


def table(runs: Runs, base, folders: dict, test, calls, minutes: float) -> None:
    """For each folder: fine-tune, base and scratch on the test tunes, and what the fine-tune forgot."""
    from livegen.training.config import TrainConfig, base_settings, fine_tune_config

    base_test, base_calls = loss(base.weights, test), loss(base.weights, calls)
    rows = []
    for size, folder in folders.items():
        tuned = runs.fit(f"finetune-{size}", folder, fine_tune_config(base.config, max_minutes=minutes), base,
                         lambda fitted: {"test_loss": loss(fitted.weights, test),
                                         "base_calls_loss": loss(fitted.weights, calls)})
        # From scratch: the same batches as the fine-tune, at the trainer's own learning rate for a
        # new model, for as long as the fine-tune took, its best epoch kept. It is not stopped early:
        # a new LSTM sits on a plateau (the tokens' frequencies) for a while before it learns more,
        # and patience 8 stopped it there (10 tunes: after 21 of 61 s, test loss 3.17).
        scratch_config = replace(fine_tune_config(base.config), learning_rate=TrainConfig().learning_rate,
                                 freeze_tables=False, patience=10_000,
                                 max_minutes=max(tuned["fit_seconds"] / 60, 0.1))
        scratch = runs.fit(f"scratch-{size}", folder, scratch_config, None,
                           lambda fitted: {"test_loss": loss(fitted.weights, test)})
        training_streams = [piece.tokens for piece in heard_pieces(base.key_mode, (read_midi(path) for path in
                                                                                   sorted(folder.iterdir())))]
        markov = MarkovModel(base.config["vocabulary"]["size"]).fit(training_streams)
        rows.append((size, tuned, scratch, round(markov.loss_per_token([piece.tokens for piece in test]), 4)))
    settings = base_settings(base.config)
    print(f"\nbase {base.name!r} ({base.description}; {settings}); test: {len(test)} tunes; "
          f"base's held-out pieces: {len(calls)}")
    print("| files | fine-tuned | base unchanged | from scratch, same minutes | order-3 Markov on the folder "
          f"| {base.name} held-out pieces: base → fine-tuned | minutes: fine-tune (epochs) / scratch (epochs) |")
    print("|---|---|---|---|---|---|---|")
    for size, tuned, scratch, markov in rows:
        print(f"| {size} | {tuned['test_loss']:.3f} | {base_test:.3f} | {scratch['test_loss']:.3f} | {markov:.3f} "
              f"| {base_calls:.3f} → {tuned['base_calls_loss']:.3f} "
              f"| {tuned['fit_seconds'] / 60:.1f} ({tuned['epochs_run']}) / {scratch['fit_seconds'] / 60:.1f} "
              f"({scratch['epochs_run']}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work", type=Path, help="folder for the exported tunes, fits and results")
    parser.add_argument("--base", default="chorale", help="the preset to fine-tune (name or folder)")
    parser.add_argument("--search", action="store_true", help="compare recipes on the dev tunes")
    parser.add_argument("--minutes", type=float, default=4.0, help="the most minutes a fit may take")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), metavar="TUNES",
                        help="the training folders' sizes, in tunes (default: %(default)s; --search fits "
                             "the middle one). Fewer and smaller folders: a quick look")
    arguments = parser.parse_args()
    sizes = tuple(arguments.sizes)
    work = arguments.work
    work.mkdir(parents=True, exist_ok=True)

    def log(line):
        print(line, flush=True)

    base = preset.load(arguments.base)
    log(f"base: {base.name} from {base.path} ({base.description})")
    tunes = export_tunes(work / "tunes", TEST_TUNES + DEV_TUNES + max(sizes), log)
    test = heard_pieces(base.key_mode, (read_midi(path) for path in tunes[:TEST_TUNES]))
    dev = heard_pieces(base.key_mode, (read_midi(path) for path in tunes[TEST_TUNES:TEST_TUNES + DEV_TUNES]))
    pool = tunes[TEST_TUNES + DEV_TUNES:]
    folders = {size: linked_folder(work / f"folder-{size}", pool[:size]) for size in sizes}
    calls = heard_pieces(base.key_mode, (piece for _, piece in read_calls(base.path / CALLS_FOLDER)))
    runs = Runs(work, log)
    if arguments.search:
        search(runs, base, folders[sizes[len(sizes) // 2]], dev, calls, arguments.minutes)
    else:
        table(runs, base, folders, test, calls, arguments.minutes)


if __name__ == "__main__":
    main()
