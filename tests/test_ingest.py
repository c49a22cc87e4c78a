"""Folder ingest: broken files skipped with reasons, the cache, music21 notation with pickups."""

import json

import mido
import pytest

from livegen.music.codec import Meter, Note
from livegen.music.midifile import write_midi
from livegen.training import midi_folder
from livegen.training.bench_ingest import bench_ingest
from livegen.training.midi_folder import default_cache_dir, format_report, ingest, read_music21

BROKEN_HEADER = b"MThd\x00\x00\x00\x06\x00\x01"


def write_song(path, pitch, length=12):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_midi(path, [("melody", [Note(0, pitch, 90, length), Note(12, pitch + 2, 90, 12)], 0)],
               Meter(), 120)


@pytest.fixture
def folder(tmp_path):
    """Two good songs (one nested), a broken .mid, a text file posing as .mid, and a note.txt."""
    songs = tmp_path / "songs"
    write_song(songs / "b.mid", 60)
    write_song(songs / "nested" / "a.midi", 64)
    (songs / "broken.mid").write_bytes(BROKEN_HEADER)
    (songs / "lyrics.mid").write_text("la la la\n")
    (songs / "notes.txt").write_text("not music\n")
    return songs


def test_folder_with_broken_files_is_read_and_they_are_named(folder, tmp_path):
    report = ingest(folder, cache_dir=tmp_path / "cache", progress=False)
    assert [path.relative_to(folder).as_posix() for path, _ in report.pieces] == [
        "b.mid", "nested/a.midi"]
    assert report.pieces[0][1].notes == (Note(0, 60, 90, 12), Note(12, 62, 90, 12))
    skipped = {path.name: reason for path, reason in report.skipped}
    assert skipped == {
        "broken.mid": "the MIDI file is truncated: its header is incomplete",
        "lyrics.mid": "not a MIDI file (it starts with b'la l', not b'MThd')",
    }
    summary = format_report(report)
    assert summary.startswith("used 2 files (0 from the cache), skipped 2:")
    assert "broken.mid — the MIDI file is truncated: its header is incomplete" in summary


def test_hash_covers_used_files_only_and_follows_their_content(folder, tmp_path):
    first = ingest(folder, cache_dir=tmp_path / "cache", progress=False).hash
    (folder / "broken.mid").write_bytes(BROKEN_HEADER + b"\x00")
    assert ingest(folder, cache_dir=tmp_path / "cache", progress=False).hash == first
    write_song(folder / "b.mid", 61)
    assert ingest(folder, cache_dir=tmp_path / "cache", progress=False).hash != first


def test_second_ingest_is_served_from_the_cache(folder, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = ingest(folder, cache_dir=cache, progress=False)
    assert first.cache_hits == 0

    def parse_again(_):
        raise AssertionError("a cached file was parsed again")

    monkeypatch.setattr(midi_folder, "read_midi", parse_again)
    second = ingest(folder, cache_dir=cache, progress=False)
    assert second.cache_hits == 2
    assert second.pieces == first.pieces
    assert second.hash == first.hash
    assert "(2 from the cache)" in format_report(second)


def test_damaged_cache_entry_is_ignored_and_rewritten(folder, tmp_path):
    cache = tmp_path / "cache"
    first = ingest(folder, cache_dir=cache, progress=False)
    entries = sorted(cache.glob("*.json"))
    assert len(entries) == 2
    entries[0].write_text("{not json")
    entries[1].write_text(json.dumps({"notes": [[0, 60, 0, 12]], "meter": [[0, 48]],
                                      "tempo_bpm": 120, "warnings": []}))
    second = ingest(folder, cache_dir=cache, progress=False)
    assert second.cache_hits == 0
    assert second.pieces == first.pieces
    assert ingest(folder, cache_dir=cache, progress=False).cache_hits == 2


def test_unwritable_cache_is_a_warning_not_a_failure(folder, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    report = ingest(folder, cache_dir=blocker, progress=False)
    assert len(report.pieces) == 2
    assert any(path == blocker and "cannot write the cache" in warning
               for path, warning in report.warnings)


def test_cache_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("LIVEGEN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "livegen" / "ingest"
    monkeypatch.setenv("LIVEGEN_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"


def test_progress_bar_goes_to_stderr(folder, tmp_path, capsys):
    ingest(folder, cache_dir=tmp_path / "cache", progress=True)
    captured = capsys.readouterr()
    assert "Reading music files" in captured.err
    assert captured.out == ""


def test_not_a_folder_is_refused(tmp_path):
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        ingest(tmp_path / "missing", cache_dir=tmp_path, progress=False)


def test_file_warnings_reach_the_report(tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    midi_file = mido.MidiFile()
    midi_file.tracks.append(mido.MidiTrack([
        mido.Message("note_on", note=60, velocity=90), mido.Message("note_on", note=10, time=480),
        mido.MetaMessage("end_of_track", time=480)]))
    midi_file.save(songs / "hanging.mid")
    report = ingest(songs, cache_dir=tmp_path / "cache", progress=False)
    warnings = [warning for _, warning in report.warnings]
    assert warnings == ["2 notes had no note-off; they end at the end of the file",
                        "1 notes outside the piano range 21..108 were dropped"]
    assert "hanging.mid — 1 notes outside the piano range" in format_report(report)


def pickup_score():
    """A 3/4 tune with a one-beat pickup, a tie across the bar line and a chord."""
    from music21 import chord, meter, note, stream, tempo, tie

    part = stream.Part()
    pickup = stream.Measure(number=0)
    pickup.append([meter.TimeSignature("3/4"), tempo.MetronomeMark(number=90),
                   note.Note("G4", quarterLength=1)])
    pickup.paddingLeft = 2
    first = stream.Measure(number=1)
    tied = note.Note("C5", quarterLength=2)
    tied.tie = tie.Tie("start")
    loud = note.Note("E5", quarterLength=1)
    loud.volume.velocity = 110
    first.append([tied, loud])
    second = stream.Measure(number=2)
    held = note.Note("C5", quarterLength=1)
    held.tie = tie.Tie("stop")
    second.append([held, chord.Chord(["F4", "A4"], quarterLength=2)])
    part.append([pickup, first, second])
    score = stream.Score()
    score.append(part)
    return score


def test_musicxml_pickup_puts_the_first_downbeat_on_a_bar_start(tmp_path):
    path = tmp_path / "tune.musicxml"
    pickup_score().write("musicxml", fp=path)
    piece = read_music21(path)
    assert piece.meter == Meter(((0, 36),))
    assert piece.tempo_bpm == 90
    assert piece.notes == (
        Note(24, 67, 80, 12),  # the pickup: third beat of bar 0
        Note(36, 72, 80, 36),  # the tied C5: on the downbeat of bar 1, both halves joined
        Note(60, 76, 110, 12),
        Note(84, 65, 80, 24), Note(84, 69, 80, 24),
    )
    assert piece.meter.locate(piece.notes[1].onset) == (1, 0)


def test_notation_files_go_through_ingest_and_the_cache(tmp_path, monkeypatch):
    songs = tmp_path / "songs"
    songs.mkdir()
    pickup_score().write("musicxml", fp=songs / "tune.musicxml")
    (songs / "empty.xml").write_text("<score-partwise></score-partwise>")
    cache = tmp_path / "cache"
    report = ingest(songs, cache_dir=cache, progress=False)
    assert [path.name for path, _ in report.pieces] == ["tune.musicxml"]
    assert report.pieces[0][1].notes[0] == Note(24, 67, 80, 12)
    assert [path.name for path, _ in report.skipped] == ["empty.xml"]
    parsed = []
    parse = midi_folder.read_music21
    monkeypatch.setattr(midi_folder, "read_music21", lambda path: parsed.append(path.name)
                        or parse(path))
    again = ingest(songs, cache_dir=cache, progress=False)
    assert again.cache_hits == 1
    assert parsed == ["empty.xml"]  # skipped files are not cached: a parser fix may save them
    assert again.pieces == report.pieces


def test_abc_with_pickup_and_several_tunes_uses_the_first_with_a_warning(tmp_path):
    path = tmp_path / "tunes.abc"
    path.write_text("X:1\nT:One\nM:3/4\nL:1/4\nK:C\nG|c2 e|g3|]\n\n"
                    "X:2\nT:Two\nM:4/4\nL:1/4\nK:C\nc d e f|]\n")
    piece = read_music21(path)
    assert [(note.onset, note.pitch) for note in piece.notes] == [(24, 67), (36, 72), (60, 76),
                                                                  (72, 79)]
    assert piece.warnings == ("the file holds 2 pieces; only the first is used",)


def test_bench_measures_both_readers_on_the_same_files(tmp_path):
    write_song(tmp_path / "one.mid", 60)
    write_song(tmp_path / "two.mid", 62)
    (tmp_path / "broken.mid").write_bytes(BROKEN_HEADER)
    result = bench_ingest(tmp_path)
    assert result["files"] == 2 and result["notes"] == 4
    assert result["mido_files_per_s"] > result["music21_files_per_s"] > 0
    assert result["speedup"] == pytest.approx(
        result["mido_files_per_s"] / result["music21_files_per_s"])



def test_two_worker_processes_read_a_folder_as_one_does_and_an_interrupted_ingest_goes_on_from_its_cache(tmp_path):
    songs = tmp_path / "many"
    for index in range(3 * midi_folder.FILES_PER_TASK + 5):
        write_song(songs / f"song{index:03d}.mid", 40 + index % 40, length=6 + index % 12)
    (songs / "song007-broken.mid").write_bytes(BROKEN_HEADER)
    one = ingest(songs, cache_dir=tmp_path / "one", progress=False)
    two = ingest(songs, cache_dir=tmp_path / "two", progress=False, processes=2)
    assert [(path, piece.notes) for path, piece in two.pieces] == [(path, piece.notes) for path, piece in one.pieces]
    assert two.skipped == one.skipped and two.hash == one.hash and two.files_used == one.files_used == 53
    # Interrupted after the first pieces came back: what the workers parsed is in the cache.
    cache = tmp_path / "interrupted"
    report = midi_folder.IngestReport(songs)
    reading = midi_folder.read_folder(report, cache, progress=False, processes=2)
    for _ in range(20):
        next(reading)
    reading.close()
    cached = len(list(cache.glob("*.json")))
    assert cached >= 20
    again = ingest(songs, cache_dir=cache, progress=False, processes=2)
    assert again.cache_hits == cached and again.hash == one.hash


def test_ingest_processes_must_be_a_whole_number_of_at_least_one(folder, tmp_path):
    with pytest.raises(ValueError, match="ingest processes must be a whole number of at least 1, got 0"):
        ingest(folder, cache_dir=tmp_path / "cache", progress=False, processes=0)
