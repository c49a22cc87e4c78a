"""Driving a companion on a fake clock: a companion on a fake sink, calls played note by note, ticks as time goes by."""

import mido

from livegen.live.engine import Companion, CompanionConfig
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.music import codec
from tests.fakes import FakeSink
from tests.helpers import random_weights

BEAT = 0.5  # 120 bpm
GRID_SECONDS = BEAT / codec.TICKS_PER_BEAT
G_MAJOR_CALL = [67, 71, 74, 71, 72, 69, 66, 67]  # two bars of quarters


def make(config=CompanionConfig(), sampling=SamplingConfig(), seed=0, voices=False):
    sink = FakeSink()
    model = StepModel(random_weights(seed=11, voices=voices))
    companion = Companion(model, Sampler(sampling, seed=seed), sink, config)
    return companion, sink, model


def play_call(companion, start, pitches, beat_seconds=BEAT, length=0.8, tick=0.01):
    """Quarter notes from ``start``, ticking the engine every ``tick`` seconds as time goes by."""
    events = []
    for index, pitch in enumerate(pitches):
        on = start + index * beat_seconds
        events.append((on, mido.Message("note_on", note=pitch, velocity=90)))
        events.append((on + length * beat_seconds, mido.Message("note_off", note=pitch)))
    events.sort(key=lambda e: e[0])
    now = start
    for at, message in events:
        while now + tick < at:
            now += tick
            companion.tick(now)
        companion.hear(message, at)
        now = at
        companion.tick(now)
    return now


def run_until(companion, now, until, tick=0.01):
    while now < until:
        now += tick
        companion.tick(now)
    return now
