"""Piano-roll pictures of notes: one colour per track, bar lines, pitch names on the side.

matplotlib is part of the ``[train]`` extra, so it is imported only when a roll is drawn.
"""

from __future__ import annotations

import io
from pathlib import Path

import mido

from livegen.errors import LivegenError
from livegen.music import codec
from livegen.music.key import PITCH_NAMES
from livegen.music.midifile import Piece, read_midi

TRACK_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


class PianoRollError(LivegenError, ValueError):
    """A roll cannot be drawn; the message says why and what to install."""


def read_tracks(path) -> list[tuple[str, Piece]]:
    """Each note-holding track of a MIDI file as ``(name, Piece)``, read with livegen's parser."""
    source = mido.MidiFile(path)
    conductor = [track for track in source.tracks
                 if not any(message.type == "note_on" for message in track)]
    tracks = []
    for number, track in enumerate(source.tracks):
        if track in conductor:
            continue
        single = mido.MidiFile(type=1, ticks_per_beat=source.ticks_per_beat)
        single.tracks.extend(conductor + [track])
        buffer = io.BytesIO()
        single.save(file=buffer)
        tracks.append((track.name or f"track {number + 1}", read_midi(buffer.getvalue())))
    return tracks


def draw(tracks, meter: codec.Meter, title: str = "", marks=()) -> bytes:
    """PNG of ``(name, notes)`` tracks over ``meter``'s bars; ``marks``: ``(tick, label)`` lines."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as error:
        raise PianoRollError(
            f"drawing a piano roll needs matplotlib, part of the [train] extra: {error}. "
            "Install it with: pip install -e '.[train]'"
        ) from error
    notes = [note for _, track_notes in tracks for note in track_notes]
    if not notes:
        raise PianoRollError("there are no notes to draw")
    end = max(note.end for note in notes)
    low, high = min(note.pitch for note in notes) - 2, max(note.pitch for note in notes) + 2
    figure = Figure(figsize=(min(4 + end / 48 * 0.9, 24), 3 + (high - low) * 0.06), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    legend = []
    for number, (name, track_notes) in enumerate(tracks):
        colour = TRACK_COLOURS[number % len(TRACK_COLOURS)]
        for note in track_notes:
            axes.add_patch(_bar(note, colour))
        legend.append(Patch(color=colour, label=f"{name} ({len(track_notes)} notes)"))
    _bar_lines(axes, meter, end)
    for tick, label in marks:
        axes.axvline(tick / codec.TICKS_PER_BEAT, color="black", linewidth=1.5)
        axes.text(tick / codec.TICKS_PER_BEAT, high, f" {label}", va="top", fontsize=8)
    axes.set_xlim(0, end / codec.TICKS_PER_BEAT)
    axes.set_ylim(low, high)
    ticks = [pitch for pitch in range(low, high + 1) if pitch % 12 == 0]
    axes.set_yticks(ticks, [f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}" for pitch in ticks])
    axes.set_xlabel("beats")
    axes.set_ylabel("pitch")
    if title:
        axes.set_title(title, fontsize=10)
    axes.legend(handles=legend, loc="lower right", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _bar(note: codec.Note, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((note.onset / codec.TICKS_PER_BEAT, note.pitch - 0.4),
                     note.duration / codec.TICKS_PER_BEAT, 0.8, facecolor=colour,
                     edgecolor="black", linewidth=0.3, alpha=0.85)


def _bar_lines(axes, meter: codec.Meter, end: int) -> None:
    bar = 0
    while meter.bar_start(bar) <= end:
        axes.axvline(meter.bar_start(bar) / codec.TICKS_PER_BEAT, color="grey", linewidth=0.5, alpha=0.6)
        bar += 1


def draw_file(midi_path, out_path) -> Path:
    """Draw a MIDI file's note tracks into a PNG file; returns its path."""
    tracks = read_tracks(midi_path)
    if not tracks:
        raise PianoRollError(f"{midi_path} holds no notes to draw")
    meter = tracks[0][1].meter
    picture = draw([(name, piece.notes) for name, piece in tracks], meter, title=Path(midi_path).name)
    out_path = Path(out_path)
    out_path.write_bytes(picture)
    return out_path
