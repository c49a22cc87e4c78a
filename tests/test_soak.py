"""Long sessions: thousands of phrases on a fake clock, then a real-thread soak; nothing grows, nothing hangs."""

import queue
import statistics
import threading
import time

import mido
import numpy as np

from livegen.live.engine import MAX_HISTORY_NOTES, REPORTS_KEPT, Companion, CompanionConfig, EngineThread
from livegen.live.recorder import PLAYER, Recorder
from livegen.model import memory
from livegen.model.session_model import CONTEXTS_KEPT
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.live.scheduler import Scheduler
from tests.fakes import FakePort, FakeSink, sounding_after
from tests.helpers import random_weights

PHRASES = 2000
BPM = 120
BEAT = 60 / BPM
TICK = 0.05  # coarse ticks: the engine samples a beat ahead, so 50 ms keeps every deadline
CALLS = [[67, 71, 74, 72], [62, 65, 69, 65], [60, 64, 67, 72], [57, 60, 64, 59]]  # G, D minor, C, A minor


class CountingModel(StepModel):
    """The step model, counting tokens fed to any state (re-priming and answer starts)."""

    fed = 0

    def feed(self, tokens, state, voices=None):
        self.fed += len(tokens)
        return super().feed(tokens, state, voices)


def sizes(companion):
    return (len(companion.history), len(companion.performance.waiting), len(companion.performance.held),
            len(companion.performance.sustained), len(companion.performance.call), len(companion.step_seconds))


def one_phrase(companion, now, pitches, interrupt):
    """A bar of quarter notes, silence until the answer plays (or the player cuts in); returns the time after."""
    for index, pitch in enumerate(pitches):
        at = now + index * BEAT
        companion.hear(mido.Message("note_on", note=pitch, velocity=90), at)
        companion.tick(at)
        companion.hear(mido.Message("note_off", note=pitch), at + 0.8 * BEAT)
        companion.tick(at + 0.8 * BEAT)
    now += len(pitches) * BEAT
    until = now + (2 * BEAT if interrupt else 7 * BEAT)
    while now < until:
        now += TICK
        companion.tick(now)
    return now


def test_thousands_of_phrases_keep_memory_tokens_and_time_flat():
    model = CountingModel(random_weights(seed=11))
    sink = FakeSink()
    companion = Companion(model, Sampler(SamplingConfig(), seed=0), sink,
                          CompanionConfig(bpm=BPM, answer_bars=1))
    now, walls, fed, peaks = 1.0, [], [], [0] * 6
    for phrase in range(PHRASES):
        started, tokens_before = time.perf_counter(), model.fed
        interrupt = phrase % 5 == 4  # every fifth call cuts into the previous answer
        now = one_phrase(companion, now, CALLS[phrase % len(CALLS)], interrupt)
        walls.append(time.perf_counter() - started)
        fed.append(model.fed - tokens_before)
        peaks = [max(a, b) for a, b in zip(peaks, sizes(companion))]
    assert companion.answers_started >= PHRASES - 1
    assert len(sink.cancelled) >= PHRASES // 5 - 1, "interrupted answers are cancelled"
    assert peaks[0] <= MAX_HISTORY_NOTES and peaks[1] <= 4 and peaks[2] <= 1 and peaks[4] <= 4
    assert peaks[5] <= 1000
    assert companion.answers_started == PHRASES
    assert len(companion.answered) == len(companion.readiness) == REPORTS_KEPT, "answer reports stay bounded"
    first_tokens, last_tokens = statistics.mean(fed[:100]), statistics.mean(fed[-100:])
    assert last_tokens <= 1.2 * first_tokens, f"re-priming grew from {first_tokens:.0f} to {last_tokens:.0f} tokens"
    first_wall, last_wall = statistics.median(walls[:100]), statistics.median(walls[-100:])
    assert last_wall <= 2 * first_wall + 0.002, f"a phrase took {1000 * first_wall:.2f} ms, then {1000 * last_wall:.2f} ms"
    print(f"\nsoak: {PHRASES} phrases, {companion.answers_started} answers, {len(sink.cancelled)} cancelled; "
          f"tokens fed per phrase {first_tokens:.0f} -> {last_tokens:.0f}; "
          f"wall per phrase {1000 * first_wall:.2f} -> {1000 * last_wall:.2f} ms; peaks {peaks}")


def test_two_hours_of_new_material_with_adapt_on_keep_the_session_model_bounded(tmp_path):
    """A player who never repeats themselves for two hours (on the fake clock): the session model fills
    its table and stays there, the file it would save stays under its bound, and phrases cost no more."""
    sink = FakeSink()
    companion = Companion(CountingModel(random_weights(seed=11)), Sampler(SamplingConfig(), seed=0), sink,
                          CompanionConfig(bpm=BPM, answer_bars=1, adapt=0.75))
    rng = np.random.default_rng(0)
    now, walls, phrase, saved, sizes = 1.0, [], 0, {}, []
    for hour in (1, 2):
        while now < hour * 3600:
            started = time.perf_counter()
            pitches = [int(p) for p in rng.integers(36, 96, size=8)]
            now = one_phrase(companion, now, pitches, interrupt=phrase % 5 == 4)
            walls.append(time.perf_counter() - started)
            sizes.append(len(companion.adaptation.model))
            phrase += 1
        path = tmp_path / f"after-{hour}-hours.json"
        memory.save(path, companion.adaptation.model, memory.frame(True))
        saved[hour] = (len(companion.adaptation.model), path.stat().st_size)
    full = sizes.index(CONTEXTS_KEPT) if CONTEXTS_KEPT in sizes else None
    assert full is not None and full < 0.75 * phrase, f"the table filled within the first hour and a half: {saved}"
    assert set(sizes[full:]) == {CONTEXTS_KEPT}, "once full, the table stays full and no larger"
    assert saved[2][1] <= memory.MAX_FILE_BYTES and saved[2][1] <= 1.2 * saved[1][1], saved
    assert len(companion.history) <= MAX_HISTORY_NOTES
    assert companion.answers_started == phrase
    first_wall, last_wall = statistics.median(walls[:100]), statistics.median(walls[-100:])
    assert last_wall <= 2 * first_wall + 0.002, f"a phrase took {1000 * first_wall:.2f} ms, then {1000 * last_wall:.2f} ms"
    print(f"\nadapt soak: {phrase} phrases in two hours; contexts and file size after each hour {saved}; "
          f"wall per phrase {1000 * first_wall:.2f} -> {1000 * last_wall:.2f} ms")


def test_threads_soak_through_many_phrases_and_are_joined():
    """Engine and scheduler threads for real, at 400 bpm in one-beat bars: phrases come every ~0.4 s."""
    baseline = set(threading.enumerate())
    port, recorder, inbox, errors = FakePort(), Recorder(), queue.SimpleQueue(), []
    scheduler = Scheduler(port, recorder=recorder)
    config = CompanionConfig(bpm=400, beats_per_bar=1, phrase_end_beats=0.25, answer_bars=1)
    companion = Companion(StepModel(random_weights(seed=2)), Sampler(SamplingConfig(), seed=1), scheduler, config)
    engine = EngineThread(companion, inbox, recorder, on_error=errors.append)
    scheduler.start()
    engine.start()
    sent = 0
    beat = 60 / 400
    try:
        for phrase in range(20):
            for pitch in CALLS[phrase % len(CALLS)][:2]:
                inbox.put((time.perf_counter(), mido.Message("note_on", note=pitch, velocity=80)))
                time.sleep(beat / 2)
                inbox.put((time.perf_counter(), mido.Message("note_off", note=pitch)))
                sent += 1
            time.sleep(4 * beat if phrase % 3 else 1.5 * beat)  # every third call cuts into the answer
    finally:
        engine.stop()
        scheduler.stop(panic=True)
    assert errors == []
    assert set(threading.enumerate()) == baseline, "every thread was joined"
    assert companion.answers_started >= 12, companion.answers_started
    assert recorder.count(PLAYER) == sent
    assert scheduler.sounding() == [] and sounding_after(port.messages) == set()
    controls = {(m.control, m.value) for m in port.messages if m.type == "control_change"}
    assert {(64, 0), (123, 0), (120, 0)} <= controls, "the stop sends the panic on the channels used"
