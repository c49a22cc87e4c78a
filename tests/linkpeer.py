"""A foreign Ableton Link peer for the real-port Link test, in a network namespace of its own, with
livegen as its child.

Link finds peers by UDP multicast on *every* interface, so no peer may run on the machine's own
network. ``command()`` starts this module in a new network namespace (livegen.live.netns) where
only ``lo`` is up, and ``main`` refuses to start a peer if the namespace has any other interface. livegen
(the arguments after ``--``) runs as this process's child, so both peers share the namespace and
find each other on ``lo``; JACK's sockets are files, so its ports reach livegen all the same.

On stdin, one command a line: ``tempo BPM``, ``play`` (start on the next bar line), ``stop``,
``peers``. Each is answered on stdout: ``grid AT BEAT BPM PLAYING`` (Link's beat at perf_counter
time AT, over the quantum) or ``peers N``. SIGTERM is passed on to livegen; this process then exits
with livegen's exit code. livegen's stderr is this process's.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from livegen.live import netns


def command(quantum: int, bpm: float, livegen: list[str]) -> list[str]:
    """This module, with livegen as its child, in a network namespace of their own."""
    return netns.command(sys.executable, "-m", "tests.linkpeer", "--quantum", str(quantum), "--bpm", str(bpm),
                         "--", *livegen)


def grid(link, quantum: int) -> str:
    """Link's beat at a perf_counter time: Link's clock read between two reads of ours, the narrowest of three."""
    state = link.captureAppSessionState()
    pairs = []
    for _ in range(3):
        before = time.perf_counter()
        micros = link.clock().micros()
        after = time.perf_counter()
        pairs.append((after - before, (before + after) / 2, micros))
    _, at, micros = min(pairs)
    return f"grid {at!r} {state.beatAtTime(micros, quantum)!r} {state.tempo()!r} {int(state.isPlaying())}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quantum", type=int, required=True)
    parser.add_argument("--bpm", type=float, required=True)
    parser.add_argument("livegen", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    netns.enter()  # refuses unless only lo is here
    import link  # the test extra's binding

    peer = link.Link(args.bpm)
    peer.startStopSyncEnabled = True
    peer.enabled = True
    child = subprocess.Popen([part for part in args.livegen if part != "--"], stdin=subprocess.DEVNULL)

    def finish(*_):
        """SIGTERM: livegen stops as it would alone; this peer leaves the session and exits with its code."""
        child.send_signal(signal.SIGTERM)
        code = child.wait()
        peer.enabled = False
        sys.stdout.flush()
        os._exit(code)

    signal.signal(signal.SIGTERM, finish)
    for line in sys.stdin:
        word, *rest = line.split()
        if word == "tempo":
            state = peer.captureAppSessionState()
            state.setTempo(float(rest[0]), peer.clock().micros())
            peer.commitAppSessionState(state)
        elif word in ("play", "stop"):
            state = peer.captureAppSessionState()
            if word == "play":
                state.setIsPlayingAndRequestBeatAtTime(True, peer.clock().micros(), 0.0, args.quantum)
            else:
                state.setIsPlaying(False, peer.clock().micros())
            peer.commitAppSessionState(state)
        if word == "peers":
            print(f"peers {peer.numPeers()}", flush=True)
        else:
            print(grid(peer, args.quantum), flush=True)
    finish()


if __name__ == "__main__":
    main()
