"""Following an Ableton Link session over real JACK ports: livegen and a foreign Link peer in a network
namespace of their own (tests/linkpeer.py), the player and its ears on the machine's JACK server."""

import time

import pytest

from livegen.live import timing as livegen_timing
from livegen.music import codec
from tests import jackutil, linkpeer, timing
from tests.test_play_jack import BPM, Player, play_notes, start_livegen, stop

pytestmark = pytest.mark.jack

QUANTUM = 4
SLOWER_BPM = 96
OFFSET_MS = 20  # a DAW track's monitoring delay, or a slow synth's (less than half a 1/12 beat at 120 bpm)
ANSWER_BARS = 2
# How far a note livegen planned can lie from the Link grid the foreign peer reads, in seconds:
# both read the same session timeline (Link syncs peers on one host to microseconds); each side
# pairs Link's clock with perf_counter by reading one between two reads of the other, off by at
# most half that window, and keeps the narrowest of three windows (a few microseconds; only a
# thread preempted in all three is off by more). Measured: at most 1 us. 0.5 ms is one GIL switch
# interval (livegen.live.scheduler): a window that wide means all three reads were interrupted.
GRID_TOLERANCE_S = 0.0005


class LinkSession:
    """The foreign peer that livegen runs under: commands in, Link's grid (as it reads it) out."""

    def __init__(self, process):
        self.process = process
        self.grids: list[tuple[float, float, float]] = []  # (perf time, Link beat then, bpm) per reply

    def ask(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline().split()
        if reply[0] == "grid":
            self.grids.append((float(reply[1]), float(reply[2]), float(reply[3])))
        return " ".join(reply)

    def wait_for_peers(self, timeout: float = 10.0) -> None:
        jackutil.wait_until(lambda: self.ask("peers") == "peers 1", "livegen joined the Link session", timeout)

    def beat_at(self, at: float, grid: tuple[float, float, float]) -> float:
        since, beat, bpm = grid
        return beat + (at - since) * bpm / 60.0


def start_with_link(preset_dir, tmp_path, *flags):
    """livegen play --link under a foreign Link peer at BPM, joined; returns (session, in port, out port)."""
    process, livegen_in, livegen_out = start_livegen(
        preset_dir, tmp_path, "--link", "--link-start-stop", "--quiet", "--log-timing", tmp_path / "timing.jsonl",
        "--answer-bars", ANSWER_BARS, "--start-on", "bar", *flags,
        wrap=lambda command: linkpeer.command(QUANTUM, BPM, command))
    session = LinkSession(process)
    session.wait_for_peers()
    return session, livegen_in, livegen_out


def hear_an_answer(player, since: float, bpm: float) -> None:
    """Wait until an answer that began after ``since`` has played its bars out at ``bpm``."""
    seconds = ANSWER_BARS * QUANTUM * 60.0 / bpm

    def notes():
        return [(t, m) for t, m in player.heard(own=False) if t >= since and m.type == "note_on" and m.velocity]

    jackutil.wait_until(lambda: notes(), "an answer began", 15.0)
    began = notes()[0][0]
    jackutil.wait_until(lambda: time.perf_counter() >= began + seconds + 0.2, "the answer ended", seconds + 5.0)


def call_and_hear(player, bpm: float) -> float:
    """Play the call and wait out its answer at ``bpm``; returns when the call began."""
    began = time.perf_counter()
    play_notes(player)
    hear_an_answer(player, began, bpm)
    return began


def answer_onsets(path) -> list[float]:
    """When each answer note was due (livegen's own record of its plan)."""
    _, sent = livegen_timing.read(path)
    return sorted(s.due for s in sent if timing.is_on(s.data) and s.due is not None and s.data[0] & 0x0F != 15)


def off_grid(session, at: float, grid) -> float:
    """Seconds from ``at`` to the nearest 1/12 beat of the session's grid as the peer read it."""
    tick = session.beat_at(at, grid) * codec.TICKS_PER_BEAT
    return abs(tick - round(tick)) / codec.TICKS_PER_BEAT * 60.0 / grid[2]


def start_playing(session, player, livegen_in, livegen_out) -> None:
    """The session starts (on its next bar line); the player is connected and waits for that bar."""
    started = session.ask("play")
    assert started.endswith(" 1"), started
    at, beat, bpm = session.grids[-1]
    player.connect(livegen_in, livegen_out)
    jackutil.wait_until(lambda: time.perf_counter() >= at - beat * 60.0 / bpm, "the session's first bar began", 5.0)


def test_answers_land_on_the_link_grid_and_follow_a_tempo_change_from_another_peer(tiny_preset, tmp_path,
                                                                                   jack_server):
    player = Player()
    session, livegen_in, livegen_out = start_with_link(tiny_preset, tmp_path)
    try:
        start_playing(session, player, livegen_in, livegen_out)
        call_and_hear(player, BPM)
        session.ask(f"tempo {SLOWER_BPM}")
        changed = call_and_hear(player, SLOWER_BPM)
        code, printed = stop(session.process)
    finally:
        player.close()
    assert code == 0, printed
    onsets = answer_onsets(tmp_path / "timing.jsonl")
    before, after = [t for t in onsets if t < changed], [t for t in onsets if t >= changed + 60.0 / BPM]
    assert len(before) >= 3 and len(after) >= 3, (before, after)
    play_grid, slow_grid = session.grids[0], session.grids[-1]
    assert slow_grid[2] == pytest.approx(SLOWER_BPM)
    for at, grid in [(t, play_grid) for t in before] + [(t, slow_grid) for t in after]:
        off = off_grid(session, at, grid)
        assert off <= GRID_TOLERANCE_S, f"a note {1000 * off:.3f} ms off the Link grid at {grid[2]} bpm"
    first_beat = session.beat_at(before[0], play_grid)
    assert round(first_beat) % QUANTUM == 0 and abs(first_beat - round(first_beat)) * 60 / BPM <= GRID_TOLERANCE_S, \
        f"the first answer after the start is on beat {first_beat:.4f} of the session, not on a bar line"


def test_an_output_latency_offset_sends_every_note_that_much_before_its_link_beat(tiny_preset, tmp_path, jack_server):
    player = Player()
    session, livegen_in, livegen_out = start_with_link(tiny_preset, tmp_path, "--out-latency-ms", OFFSET_MS)
    try:
        start_playing(session, player, livegen_in, livegen_out)
        call_and_hear(player, BPM)
        code, printed = stop(session.process)
    finally:
        player.close()
    assert code == 0, printed
    onsets = answer_onsets(tmp_path / "timing.jsonl")
    assert len(onsets) >= 3, onsets
    grid = session.grids[-1]
    for due in onsets:
        early = off_grid(session, due + OFFSET_MS / 1000, grid)
        assert early <= GRID_TOLERANCE_S, f"a note due {1000 * early:.3f} ms away from {OFFSET_MS} ms before its beat"
        assert off_grid(session, due, grid) >= OFFSET_MS / 1000 - GRID_TOLERANCE_S, "a note due on the beat itself"
