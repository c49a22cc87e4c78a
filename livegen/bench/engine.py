"""The engine's costs: an answer ready at phrase end, re-priming after a key change, accompany's re-plan."""

from __future__ import annotations

import time

import mido

from livegen.music import codec, voices

from livegen.bench.measure import percentiles_ms
from livegen.live.engine import REPRIME_TOKENS, Companion, CompanionConfig
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler


class _NullSink:
    def play(self, notes, tag):
        pass

    def cancel(self, tag):
        pass

    def retract(self, tag, not_before):
        return set()


def _call_messages(bars: int, beat: float):
    """A call of ``bars`` bars of quarter notes with a held bass, as (time, message) pairs."""
    events = []
    for index in range(bars * 4):
        at = index * beat
        pitch = (60, 64, 67, 72, 71, 67, 65, 62)[index % 8]
        events.append((at, mido.Message("note_on", note=pitch, velocity=80)))
        events.append((at + 0.8 * beat, mido.Message("note_off", note=pitch)))
    return sorted(events, key=lambda e: e[0])


def play_until_answer(companion: Companion, bars: int, beat: float) -> float:
    """Play a ``bars``-bar call into ``companion`` on a fake clock ticking every 10 ms until its answer
    begins; returns the time it did."""
    now = 0.0
    for at, message in _call_messages(bars, beat):
        while now + 0.01 < at:
            now += 0.01
            companion.tick(now)
        companion.hear(message, at)
        now = at
    while companion.answer is None:
        now += 0.01
        companion.tick(now)
    return now


def bench_readiness(weights: dict, call_bars=(2, 8, 32), repeats: int = 5) -> dict:
    """Phrase end -> first answer note sampled, streaming priming vs re-priming the whole call."""
    model = StepModel(weights)
    model.warm_up()
    beat = 0.5
    rows = {}
    for bars in call_bars:
        streaming, whole = [], []
        for repeat in range(repeats):
            config = CompanionConfig(bpm=120, seed_bars=32, max_answer_bars=2)
            companion = Companion(model, Sampler(seed=repeat), _NullSink(), config)
            play_until_answer(companion, bars, beat)
            streaming.append(companion.readiness[-1])
            whole.append(_reprime_whole_call(model, companion, bars, repeat))
        rows[f"{bars}_bars"] = {"call_tokens": len(_call_tokens(bars)),
                                "streaming": percentiles_ms(streaming), "reprime_whole_call": percentiles_ms(whole)}
    return rows


def bench_reprime(weights: dict, repeats: int) -> dict:
    """A key change re-primes the state from the seed buffer (8 bars of four-note chords, the worst case)."""
    model = StepModel(weights)
    model.warm_up()
    companion = Companion(model, Sampler(seed=0), _NullSink(), CompanionConfig(bpm=120, seed_bars=8))
    now = 0.0
    for beat in range(8 * 4):
        for voice, pitch in enumerate((48, 55, 64, 72)):
            companion.hear(mido.Message("note_on", note=pitch + (beat % 3), velocity=80), beat * 0.5)
    for beat in range(8 * 4):
        for pitch in (48, 55, 64, 72):
            companion.hear(mido.Message("note_off", note=pitch + (beat % 3)), beat * 0.5 + 0.4)
        now = beat * 0.5 + 0.45
        companion.tick(now)
    tokens = codec.encode(codec.merge_unisons(
        codec.Note(round(n.start * 24), n.pitch, n.velocity, 10) for n in companion.history))
    times, whole = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        companion.reprime(now)
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.feed(tokens, model.initial_state(), voices.read(tokens, codec.Cursor()))
        whole.append(time.perf_counter() - started)
    return {**percentiles_ms(times), "seed_bars": 8, "notes": len(companion.history), "tokens": len(tokens),
            "tokens_read": len(codec.tail(tokens, REPRIME_TOKENS)), "whole_buffer": percentiles_ms(whole)}


def bench_accompany(weights: dict, bars: int) -> dict:
    """Accompany mode: a player's note -> the accompaniment's unsent beat sampled again with it."""
    model = StepModel(weights)
    model.warm_up()
    companion = Companion(model, Sampler(seed=0), _NullSink(), CompanionConfig(bpm=120, mode="accompany"))
    now = 0.0
    for at, message in _call_messages(bars, 0.5):
        while now + 0.002 < at:
            now += 0.002
            companion.tick(now)
        companion.hear(message, at)
        now = at
        companion.tick(now)
    return {**percentiles_ms(companion.replans), "player_notes": bars * 4}


def _call_tokens(bars: int) -> list[int]:
    notes = [codec.Note(i * 12, (60, 64, 67, 72, 71, 67, 65, 62)[i % 8], 80, 10) for i in range(bars * 4)]
    return codec.encode(notes)


def _reprime_whole_call(model: StepModel, companion: Companion, bars: int, seed: int) -> float:
    """Magenta's way: at phrase end, run the whole call through a fresh state, then sample."""
    sampler = Sampler(seed=seed)
    started = time.perf_counter()
    state = model.initial_state()
    cursor = codec.Cursor()
    tokens = _call_tokens(bars) + [codec.BAR, codec.POSITION_BASE]
    heard = voices.read(tokens, cursor)  # walks the cursor through the tokens
    sampler.choose(model.feed(tokens, state, heard), cursor)
    return time.perf_counter() - started
