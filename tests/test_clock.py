"""Following a DAW's MIDI clock: tempo, phase, tempo changes, song position, start/stop."""

import mido
import numpy as np
import pytest

from livegen.live.clock import ExternalClock, InternalClock
from livegen.live.engine import ANSWERING, LISTENING, Companion, CompanionConfig
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler
from tests.helpers import random_weights
from tests.fakes import FakeSink
from tests.playing import G_MAJOR_CALL

PERIOD = 128 / 48000


def pulses(clock, start, bpm, beats, quantum=PERIOD, first_index=0):
    """Send 24 PPQN pulses from ``start``, each arriving at the next ``quantum`` boundary."""
    gap = 60.0 / bpm / 24
    times = []
    for index in range(int(beats * 24)):
        ideal = start + (first_index + index) * gap
        at = np.ceil(ideal / quantum) * quantum if quantum else ideal
        clock.hear(mido.Message("clock"), at)
        times.append(at)
    return times


def test_tempo_and_phase_come_from_the_pulses_despite_period_quantisation():
    clock = ExternalClock()
    assert clock.hear(mido.Message("start"), 9.99) == "start"
    pulses(clock, 10.0, 132, beats=4)
    assert clock.bpm == pytest.approx(132, rel=0.005)
    assert clock.time_of_beat(0) == pytest.approx(10.0, abs=PERIOD)
    assert clock.time_of_beat(8) == pytest.approx(10.0 + 8 * 60 / 132, abs=PERIOD)


def test_a_tempo_change_is_followed_within_a_beat():
    clock = ExternalClock()
    clock.hear(mido.Message("start"), 0.0)
    pulses(clock, 0.1, 120, beats=4)
    change_at = 0.1 + 4 * 0.5
    pulses(clock, change_at, 90, beats=1.5, first_index=0)
    assert clock.bpm == pytest.approx(90, rel=0.01)


def test_song_position_puts_bar_and_beat_right_and_stop_halts():
    clock = ExternalClock()
    clock.hear(mido.Message("songpos", pos=16), 0.0)  # sixteen sixteenths: bar 2, beat 1 in 4/4
    assert clock.hear(mido.Message("continue"), 0.0) == "continue"
    pulses(clock, 1.0, 120, beats=2, first_index=0)
    assert clock.beats_at(1.0) == pytest.approx(4.0, abs=0.01)
    assert clock.hear(mido.Message("stop"), 2.0) == "stop"
    assert not clock.started


def make_companion():
    sink = FakeSink()
    clock = ExternalClock()
    companion = Companion(StepModel(random_weights(seed=2)), Sampler(seed=1), sink, CompanionConfig(), clock)
    return companion, clock, sink


def test_the_answer_lands_on_the_daws_beat_and_stop_silences_it():
    companion, clock, sink = make_companion()
    beat = 60 / 100
    companion.hear(mido.Message("start"), 0.0)
    events = [(i * beat / 24 + 0.05, mido.Message("clock")) for i in range(24 * 24)]
    for index, pitch in enumerate(G_MAJOR_CALL):
        on = 0.05 + (4 + index) * beat + 0.013  # the player is a little late on every note
        events.append((on, mido.Message("note_on", note=pitch, velocity=80)))
        events.append((on + 0.7 * beat, mido.Message("note_off", note=pitch)))
    events.sort(key=lambda e: e[0])
    for at, message in events:
        companion.hear(message, at)
        companion.tick(at)
        if companion.status == ANSWERING and sink.played:
            break
    assert clock.bpm == pytest.approx(100, rel=0.001)
    first = min(n.start for n in sink.notes())
    beats = (first - 0.05) / beat
    assert beats == pytest.approx(round(beats), abs=1e-6), "on the DAW's beat grid"
    assert round(beats) == 4 + 8 + 1, "the beat after the phrase end (a beat of silence after the last release)"
    tag = companion.answer.tag
    companion.hear(mido.Message("stop"), at + 0.01)
    assert sink.cancelled == [tag] and companion.status == LISTENING


def test_notes_are_ignored_while_the_transport_is_stopped():
    companion, clock, sink = make_companion()
    companion.hear(mido.Message("note_on", note=60, velocity=80), 1.0)
    assert companion.performance.call == [] and companion.status == LISTENING


def test_the_internal_clock_refuses_nonsense_tempi():
    with pytest.raises(ValueError, match="between 20 and 400 bpm, got 0"):
        InternalClock(0)
