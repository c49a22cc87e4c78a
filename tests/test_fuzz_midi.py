"""Malformed MIDI: thousands of mutations of the bundled files; each one reads or is refused with a reason."""

import contextlib
import random
import re
import resource
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import mido
import pytest
from click.testing import CliRunner

from livegen.cli import cli
from livegen.music.midifile import MAX_DELTA_TICKS, MidiFileError, read_midi
from livegen.training.midi_folder import ingest

ROOT = Path(__file__).resolve().parent.parent
PHRASE_FOLDER = ROOT / "livegen" / "demo" / "phrases"
CHORALE_FOLDER = ROOT / "examples" / "chorales"
SEED_PATHS = sorted(p for folder in (PHRASE_FOLDER, CHORALE_FOLDER) for p in folder.glob("*.mid")
                    if p.name != "broken.mid")
SEEDS = {path.name: path.read_bytes() for path in SEED_PATHS}
PHRASES = [name for name in SEEDS if name.startswith("call-")]
SECONDS_PER_FILE = 2.0  # normal files read in ~5 ms; over this is a hang
MEMORY_GROWTH_LIMIT_MB = 200
TOO_LONG = "delta time over 268,435,455 ticks|more than 1024 bytes above 127 in a row"
TRIED = {"files": 0, "read": 0, "refused": 0, "slowest_s": 0.0}


class Hang(Exception):
    """A file took longer than SECONDS_PER_FILE to read."""


@contextlib.contextmanager
def time_limit(seconds):
    """Raise Hang in this (main) thread if the block runs longer than ``seconds``."""
    def expire(*_):
        raise Hang(f"reading took over {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(data: bytes):
    """The Piece read from ``data``, or the MidiFileError refusing it; anything else fails the test."""
    started = time.perf_counter()
    try:
        with time_limit(SECONDS_PER_FILE):
            result = read_midi(data)
    except MidiFileError as error:
        result = error
    except Exception as error:
        pytest.fail(f"{type(error).__name__}: {error} for a {len(data)}-byte file starting {data[:40]!r}")
    TRIED["files"] += 1
    TRIED["read" if not isinstance(result, MidiFileError) else "refused"] += 1
    TRIED["slowest_s"] = max(TRIED["slowest_s"], time.perf_counter() - started)
    if isinstance(result, MidiFileError):
        assert str(result) and "\n" not in str(result) and len(str(result)) < 300, repr(str(result))
    return result


@pytest.fixture(scope="module", autouse=True)
def report_totals(request):
    """Print how many files this module tried, for TESTING.md."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"fuzz: {TRIED['files']} files read or refused ({TRIED['read']} read, "
                            f"{TRIED['refused']} refused), slowest {1000 * TRIED['slowest_s']:.1f} ms")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(autouse=True)
def bounded_memory():
    """No mutated file may make the process's peak memory jump."""
    before = peak_rss_mb()
    yield
    assert peak_rss_mb() - before < MEMORY_GROWTH_LIMIT_MB


def chunks(data: bytes):
    """(offset, name, length) of every chunk after the header, by stated lengths."""
    found, offset = [], 0
    while offset + 8 <= len(data):
        name, length = struct.unpack(">4sL", data[offset:offset + 8])
        found.append((offset, name, length))
        offset += 8 + length
    return found


def vlq(number: int) -> bytes:
    """A MIDI variable-length quantity (any size: over-long ones are what we want to test)."""
    out = [number & 0x7F]
    number >>= 7
    while number:
        out.append(0x80 | (number & 0x7F))
        number >>= 7
    return bytes(reversed(out))


def track_bytes(events) -> bytes:
    """An MTrk chunk from (delta bytes, event bytes) pairs, exactly as given (no running-status fix-ups)."""
    body = b"".join(delta + event for delta, event in events)
    return b"MTrk" + struct.pack(">L", len(body)) + body


def file_bytes(tracks, file_type=1, division=480) -> bytes:
    return b"MThd" + struct.pack(">LHHH", 6, file_type, len(tracks), division) + b"".join(tracks)


def seed_events(name: str):
    """Each track of a seed file as a list of [delta bytes, event bytes]."""
    midi_file = mido.MidiFile((PHRASE_FOLDER if name in PHRASES else CHORALE_FOLDER) / name)
    return [[[vlq(m.time), _encoded(m)] for m in track] for track in midi_file.tracks]


def _encoded(message) -> bytes:
    if message.is_meta:
        return bytes(message.bytes())
    if message.type == "sysex":
        data = bytes(message.data) + b"\xf7"
        return b"\xf0" + vlq(len(data)) + data
    return bytes(message.bytes())


# -- random byte-level mutations ------------------------------------------------------------------
def flip_bytes(data: bytearray, rng):
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)


def flip_bits(data: bytearray, rng):
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def insert_bytes(data: bytearray, rng):
    at = rng.randrange(len(data))
    data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))


def duplicate_bytes(data: bytearray, rng):
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.randint(1, 64))
    data[end:end] = data[start:end]


def delete_bytes(data: bytearray, rng):
    start = rng.randrange(len(data))
    del data[start:start + rng.randint(1, 16)]


MUTATIONS = [flip_bytes, flip_bits, insert_bytes, duplicate_bytes, delete_bytes]


def mutate_a_track(data: bytes, mutation, rng) -> bytes:
    """``mutation`` applied inside one track chunk, its length field then made to match."""
    offset, _, length = rng.choice(chunks(data[14:]))
    start = 14 + offset + 8
    body = bytearray(data[start:start + length])
    mutation(body, rng)
    return data[:start - 4] + struct.pack(">L", len(body)) + bytes(body) + data[start + length:]


def mutants(count: int, seed: int, mutations=MUTATIONS, in_track: bool = False):
    """``count`` mutated copies of the seed files, reproducible from ``seed``."""
    rng = random.Random(seed)
    names = sorted(SEEDS)
    for _ in range(count):
        data, mutation = SEEDS[rng.choice(names)], rng.choice(mutations)
        if in_track:
            yield mutate_a_track(data, mutation, rng)
        else:
            whole = bytearray(data)
            mutation(whole, rng)
            yield bytes(whole)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__)
def test_random_mutations_of_whole_files_read_or_are_refused(mutation):
    results = [outcome(data) for data in mutants(300, seed=MUTATIONS.index(mutation), mutations=[mutation])]
    assert any(isinstance(r, MidiFileError) for r in results)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__)
def test_random_mutations_inside_tracks_read_or_are_refused(mutation):
    """The chunk length is kept right, so the damage reaches the event parser."""
    results = [outcome(data) for data in mutants(400, seed=10 + MUTATIONS.index(mutation), mutations=[mutation],
                                                 in_track=True)]
    refused = sum(isinstance(r, MidiFileError) for r in results)
    assert 0 < refused < len(results), "the mutations must both break files and leave some readable"


def test_truncation_at_every_chunk_boundary_and_every_byte_of_the_phrases():
    cuts = []
    for name, data in SEEDS.items():
        boundaries = {4, 8, 10, 12, 14}
        for offset, _, length in chunks(data[14:]):
            for edge in (14 + offset, 14 + offset + 8, 14 + offset + 8 + length):
                boundaries.update({edge - 1, edge, edge + 1})
        cuts += [data[:cut] for cut in sorted(boundaries) if 0 <= cut < len(data)]
        if name in PHRASES:
            cuts += [data[:cut] for cut in range(len(data))]
    results = [outcome(data) for data in cuts]
    assert len(results) > 500
    for data, result in zip(cuts, results):
        if len(data) < 14:
            assert isinstance(result, MidiFileError)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_chunk_length_changed(name):
    data = SEEDS[name]
    for offset, _, length in chunks(data[14:]):
        for wrong in {0, 1, length - 7, length - 2, length - 1, length + 1, length + 2, length + 7, 2 * length,
                      len(data), 0xFFFFFFFF}:
            if wrong < 0 or wrong == length:
                continue
            at = 14 + offset + 4
            result = outcome(data[:at] + struct.pack(">L", wrong) + data[at + 4:])
            if wrong > len(data):
                assert isinstance(result, MidiFileError) and "truncated" in str(result)


@pytest.mark.parametrize("name", ["call-g-major.mid", "bwv1.6.mid", "bwv10.7.mid"])
def test_header_fields(name):
    data = SEEDS[name]
    tracks = struct.unpack(">H", data[10:12])[0]
    for file_type in (0, 1, 2, 3, 0xFFFF):
        for track_count in (0, 1, tracks - 1, tracks, tracks + 1, 0xFFFF):
            for division in (0, 1, 96, 480, 0x7FFF, 0x8000, 0xE250, 0xE728, 0xFFFF):
                result = outcome(data[:8] + struct.pack(">HHH", file_type, track_count, division) + data[14:])
                if file_type == 2:
                    assert "type 2" in str(result)
                elif file_type > 2:
                    assert "unknown MIDI file type" in str(result)
                elif division & 0x8000:
                    assert "SMPTE" in str(result)
                elif division == 0:
                    assert "0 ticks per beat" in str(result)
                elif track_count > tracks:
                    assert f"promises {track_count} tracks" in str(result)
                elif track_count == tracks and division >= 96:  # 1 tick a beat stretches a chorale past MAX_BARS
                    assert not isinstance(result, MidiFileError), result


@pytest.mark.parametrize("length", [0, 1, 4, 7, 8])
def test_header_length_other_than_six(length):
    data = SEEDS["call-g-major.mid"]
    body = data[8:14] + bytes(max(0, length - 6))
    result = outcome(b"MThd" + struct.pack(">L", length) + body[:length] + data[14:])
    assert isinstance(result, MidiFileError) if length < 6 else not isinstance(result, MidiFileError)


def test_running_status_after_sysex():
    """A sysex cancels running status; files that keep using it are refused or read, never a crash."""
    rng = random.Random(7)
    sysex = [b"", b"\xf0\x05\x7e\x7f\x09\x01\xf7"]
    results = []
    for name in sorted(SEEDS):
        tracks = seed_events(name)
        for _ in range(12):
            mutated = [list(map(list, track)) for track in tracks]
            track = rng.choice(mutated[1:])
            at = rng.randrange(1, len(track))
            if track[at][1][0] < 0xF0 and len(track[at][1]) > 1:
                track[at][1] = track[at][1][1:]  # the status byte dropped: running status after the sysex
            track.insert(at, [b"\x00", rng.choice(sysex[1:])])
            results.append(outcome(file_bytes([track_bytes(t) for t in mutated])))
    assert any(isinstance(r, MidiFileError) for r in results)


def test_alien_chunks_are_ignored_with_a_warning():
    for name, data in SEEDS.items():
        original = read_midi(data)
        for offset, _, _ in chunks(data[14:])[1:]:
            alien = b"XFIH" + struct.pack(">L", 6) + b"\x00\x01\xff\x80ab"
            result = outcome(data[:14 + offset] + alien + data[14 + offset:])
            assert result.notes == original.notes
            assert any("unknown chunks were ignored: XFIH" in w for w in result.warnings)


def test_binary_garbage_where_a_chunk_name_should_be_is_refused():
    data = SEEDS["call-g-major.mid"]
    offset = 14 + chunks(data[14:])[1][0]
    result = outcome(data[:offset] + b"\x00\x01\xff\x80" + data[offset + 4:])
    assert "track 2 starts with" in str(result)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_tempo_zero_reads_at_the_default_tempo_with_a_warning(name):
    data = SEEDS[name]
    start = data.index(b"\xff\x51\x03")
    result = outcome(data[:start + 3] + b"\x00\x00\x00" + data[start + 6:])
    assert result.tempo_bpm == 120.0
    assert any("tempo is 0" in warning for warning in result.warnings)


def with_delta(name: str, rng, delta: bytes) -> bytes:
    tracks = seed_events(name)
    track = rng.choice(tracks)
    track[rng.randrange(len(track))][0] = delta
    return file_bytes([track_bytes(t) for t in tracks])


@pytest.mark.parametrize("delta", [0x0FFFFFFF, 0x0FFFFFFF + 1, 2 ** 70, 2 ** 15000],
                         ids=["max", "max+1", "10-bytes", "2143-bytes"])
def test_huge_delta_times_are_refused_or_read_quickly(delta):
    rng = random.Random(delta % 1000)
    for name in sorted(SEEDS):
        started = time.perf_counter()
        result = outcome(with_delta(name, rng, vlq(delta)))
        assert time.perf_counter() - started < 0.5
        if delta > MAX_DELTA_TICKS:
            assert re.search(TOO_LONG, str(result)), result


def test_a_note_off_after_a_delta_too_long_to_print_is_refused_by_name():
    """Before the guard: ValueError 'Exceeds the limit (4300 digits) for integer string conversion'."""
    note = [(b"\x00", b"\x90\x3c\x40"), (vlq(2 ** 15000), b"\x80\x3c\x00"), (b"\x00", b"\xff\x2f\x00")]
    result = outcome(file_bytes([track_bytes(note)], file_type=0))
    assert re.search(TOO_LONG, str(result)), result


def test_a_number_that_never_ends_is_refused_before_parsing():
    """mido reads a run of bytes above 127 as one number in quadratic time: 300 kB took 15 s."""
    body = b"\xff" * 300_000 + b"\x00\x90\x3c\x40\x00\xff\x2f\x00"
    started = time.perf_counter()
    result = outcome(file_bytes([b"MTrk" + struct.pack(">L", len(body)) + body], file_type=0))
    assert time.perf_counter() - started < 0.5
    assert "bytes above 127 in a row" in str(result)


@pytest.mark.parametrize("data", [b"", b"M", b"MThd", b"hello world", b"RIFF\x00\x00\x00\x04RMID",
                                  b"MThd" + bytes(10), bytes(range(256)) * 4, b"\xff" * 10_000])
def test_empty_and_non_midi_files_are_refused(data):
    assert isinstance(outcome(data), MidiFileError)


# -- the entry points over mutated files ------------------------------------------------------------
def test_ingest_of_a_folder_of_mutated_files_skips_each_bad_one_with_its_reason(tmp_path):
    folder = tmp_path / "mutated"
    folder.mkdir()
    files = list(mutants(150, seed=99)) + list(mutants(150, seed=98, in_track=True))
    for index, data in enumerate(files):
        (folder / f"m{index:03d}.mid").write_bytes(data)
    report = ingest(folder, cache_dir=tmp_path / "cache", progress=False)
    assert len(report.pieces) + len(report.skipped) == 300
    assert report.pieces and report.skipped
    for path, reason in report.skipped:
        with pytest.raises(MidiFileError) as refused:
            read_midi(path)
        assert reason == str(refused.value), "every skip carries read_midi's own reason"


def mutated_primes(folder: Path, count: int, seed: int, readable: bool):
    """Mutated files that read_midi reads (or refuses), written to ``folder``."""
    paths = []
    for data in mutants(2000, seed=seed, in_track=True):
        if isinstance(outcome(data), MidiFileError) != readable:
            paths.append(folder / f"{'readable' if readable else 'refused'}{len(paths)}.mid")
            paths[-1].write_bytes(data)
            if len(paths) == count:
                return paths
    raise AssertionError("too few mutants of the kind asked for")


def test_generate_in_process_on_readable_mutants_never_raises(tiny_preset, tmp_path):
    runner = CliRunner()
    for prime in mutated_primes(tmp_path, 30, seed=5, readable=True):
        result = runner.invoke(cli, ["generate", "--preset", str(tiny_preset), "--prime", str(prime), "--bars", "1",
                                     "--seed", "1", "-o", str(tmp_path / "out.mid")])
        assert result.exit_code in (0, 1), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_generate_as_a_command_gives_exit_0_or_one_line_and_exit_1(tiny_preset, tmp_path):
    primes = mutated_primes(tmp_path, 3, seed=6, readable=True) + mutated_primes(tmp_path, 3, seed=7, readable=False)
    for prime in primes:
        out = tmp_path / f"{prime.stem}-out.mid"
        done = subprocess.run([sys.executable, "-m", "livegen", "generate", "--preset", str(tiny_preset), "--prime",
                               str(prime), "--bars", "2", "--seed", "1", "-o", str(out)],
                              capture_output=True, text=True, timeout=60)
        assert "Traceback" not in done.stderr
        if done.returncode == 0:
            assert read_midi(out).notes
        else:
            assert done.returncode == 1
            errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
            assert len(errors) == 1 and len(errors[0]) < 300, done.stderr
