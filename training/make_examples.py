"""Export the bundled example folder: Bach chorales from music21's corpus as .mid, plus one
broken file, so ``livegen train examples/chorales`` works out of the box.

Run: ``python -m livegen.training.make_examples [OUT]`` (default ``examples/chorales``).
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from livegen.music.midifile import read_midi, write_midi
from livegen.training.midi_folder import piece_from_score

CHORALES_PER_MODE = 12
CHORALE_NAME = re.compile(r"bwv\d+\.\d+\.mxl")
# A MIDI header cut after 10 of its 14 bytes: ingest must skip it with a reason.
BROKEN_MIDI = b"MThd\x00\x00\x00\x06\x00\x01"

README = """\
# Example training folder: Bach chorales

{count} chorales by Johann Sebastian Bach (1685–1750), exported to MIDI from the
corpus bundled with music21 (MusicXML encodings; the music is public domain). The first
{per_mode} major-key and first {per_mode} minor-key chorales, in the corpus's file order,
were taken. Pickup (anacrusis) bars keep their place after the bar line; each voice is its
own track and channel. Made by `python -m livegen.training.make_examples`.

`broken.mid` is broken on purpose (its header is cut short): training must skip it, name it,
and give the reason.
"""


def chorale_paths() -> list[Path]:
    """music21's Bach chorale files in a fixed order."""
    from music21 import corpus

    return sorted((path for path in corpus.getComposer("bach")
                   if CHORALE_NAME.fullmatch(Path(path).name)),
                  key=lambda path: Path(path).name)


def mode_of(path: Path) -> str:
    """'major' or 'minor', by music21's key analysis of the chorale."""
    from music21 import corpus

    return corpus.parse(str(path)).analyze("key").mode


def pick_chorales(per_mode: int = CHORALES_PER_MODE) -> list[Path]:
    """The first ``per_mode`` major and ``per_mode`` minor chorales in file order."""
    picked: dict[str, list[Path]] = {"major": [], "minor": []}
    for path in chorale_paths():
        chosen = picked.setdefault(mode_of(path), [])
        if len(chosen) < per_mode:
            chosen.append(path)
        if all(len(picked[mode]) == per_mode for mode in ("major", "minor")):
            break
    return sorted(picked["major"] + picked["minor"], key=lambda path: path.name)


def export(out: Path) -> list[Path]:
    """Write the chorales, the broken file and the README into ``out``; returns the .mid files."""
    out.mkdir(parents=True, exist_ok=True)
    written = [export_chorale(source, out) for source in pick_chorales()]
    (out / "broken.mid").write_bytes(BROKEN_MIDI)
    (out / "README.md").write_text(README.format(count=len(written), per_mode=CHORALES_PER_MODE))
    return written


def export_chorale(source: Path, out: Path) -> Path:
    """One chorale as a .mid with a track per voice, checked to read back as ingest reads it."""
    from music21 import converter

    score = converter.parse(str(source), forceSource=True, storePickle=False)
    whole = piece_from_score(score)
    # A track (and channel) per voice: two voices on one pitch would overlap on one channel.
    tracks = [(part.partName or f"voice {index + 1}", piece_from_score(part).notes, index)
              for index, part in enumerate(score.parts)]
    target = out / f"{source.stem}.mid"
    write_midi(target, tracks, whole.meter, whole.tempo_bpm)
    if read_midi(target).notes != whole.notes:
        raise RuntimeError(f"{target} does not read back as the chorale's notes")
    return target


@click.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path),
                default=Path("examples/chorales"))
def main(out: Path) -> None:
    """Export Bach chorales from music21's corpus into OUT as MIDI files."""
    written = export(out)
    click.echo(f"wrote {len(written)} chorales, broken.mid and README.md to {out}")


if __name__ == "__main__":
    main()
