"""Accompany mode on a fake clock, through the real scheduler: the model plays along in time,
follows the player's notes, and leaves nothing sounding."""

import mido
import numpy as np
import pytest

from livegen.music import codec
from livegen.live.clock import CLOCKS_PER_BEAT, ExternalClock
from livegen.live.engine import ACCOMPANYING, LISTENING, Companion, CompanionConfig
from livegen.music.key import Key, in_scale_ratio
from livegen.model.preset import load
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.live.scheduler import Scheduler
from tests.fakes import FakeClock, FakePort
from tests.helpers import random_weights

BPM = 120
BEAT = 60 / BPM
GRID = BEAT / codec.TICKS_PER_BEAT
TICK = 0.002  # the engine thread's poll


class Rig:
    """A companion and a real scheduler sharing one fake clock, driven tick by tick."""

    def __init__(self, weights, config, sampling=SamplingConfig(temperature=0.9), seed=0, start=10.0, daw=False):
        self.clock = FakeClock(start)
        self.port = FakePort(self.clock)
        self.scheduler = Scheduler(self.port, now=self.clock)
        self.retracted = []
        original = self.scheduler.retract
        self.scheduler.retract = lambda tag, not_before: self._note(original(tag, not_before))
        clock = ExternalClock(config.bpm) if daw else None
        self.companion = Companion(StepModel(weights), Sampler(sampling, seed=seed), self.scheduler, config, clock)
        self.next_pulse = None
        if daw:  # a DAW whose transport starts now and sends 24 pulses a beat from here on
            self.hear(mido.Message("start"))
            self.next_pulse = start

    def _pulse(self):
        """The DAW's clock pulses due by now, each stamped at its own time."""
        while self.next_pulse is not None and self.next_pulse <= self.clock.now:
            self.companion.hear(mido.Message("clock"), self.next_pulse)
            self.next_pulse += BEAT / CLOCKS_PER_BEAT

    def _note(self, taken):
        self.retracted.extend(taken)
        return taken

    def run_to(self, until):
        """Tick the engine every TICK, and wake the scheduler exactly at each deadline, as its thread does."""
        while self.clock.now < until:
            deadline = self.scheduler.next_deadline()
            step = min(self.clock.now + TICK, until)
            if deadline is not None and self.clock.now < deadline < step:
                self.clock.now = deadline
            else:
                self.clock.now = step
                self._pulse()
                self.companion.tick(self.clock.now)
            self.scheduler.send_due(self.clock.now)

    def hear(self, message):
        self.companion.hear(message, self.clock.now)

    def play(self, start, pitches, beats=1.0, length=0.8, velocity=90):
        """The player's notes, one every ``beats`` from ``start``."""
        for index, pitch in enumerate(pitches):
            self.run_to(start + index * beats * BEAT)
            self.hear(mido.Message("note_on", note=pitch, velocity=velocity))
            self.run_to(start + (index + length) * beats * BEAT)
            self.hear(mido.Message("note_off", note=pitch))

    def model_notes(self):
        """(start, end, pitch) of every model note that went out, paired on the port."""
        starts, notes = {}, []
        for at, message in self.port.sent:
            if message.type == "note_on" and message.velocity > 0:
                starts[message.note] = at
            elif message.type in ("note_on", "note_off") and message.note in starts:
                notes.append((starts.pop(message.note), at, message.note))
        assert not starts, f"notes never released: {starts}"
        return notes


def accompany(**changes):
    return CompanionConfig(bpm=BPM, mode="accompany", **changes)


MELODY = [67, 71, 74, 72, 71, 69, 67, 66, 67, 71, 74, 79, 78, 76, 74, 71]  # four bars of G major quarters


def test_the_model_plays_along_on_the_grid_while_the_player_plays_and_rests_after():
    rig = Rig(random_weights(seed=11), accompany(rest_bars=2))
    start = 10.0
    rig.play(start, MELODY)
    assert rig.companion.status == ACCOMPANYING
    last_release = start + (len(MELODY) - 1 + 0.8) * BEAT
    rig.run_to(last_release + 4 * 4 * BEAT)
    assert rig.companion.status == LISTENING
    notes = rig.model_notes()
    during = [n for n in notes if start < n[0] < last_release]
    assert len(during) >= 8, f"only {len(during)} model notes while the player played 16"
    for begin, _, _ in notes:
        assert begin >= start + BEAT - 1e-9, "the model comes in on the beat after the player's first note"
        grid_steps = (begin - start) / GRID
        assert abs(grid_steps - round(grid_steps)) < 1e-6, f"onset {begin - start:.4f} s off the 1/12-beat grid"
    # It rests once the player has been silent for two bars: it finishes that bar and stops.
    rest_line = last_release + 2 * 4 * BEAT + BEAT + 4 * BEAT
    assert max(n[0] for n in notes) < rest_line
    assert rig.scheduler.sounding() == [] and rig.scheduler.pending() == 0


def test_a_player_note_takes_back_the_unsent_plan_and_the_state_hears_both_streams_in_order():
    rig = Rig(random_weights(seed=11), accompany(lookahead_beats=2.0))
    start = 10.0
    rig.play(start, MELODY[:8])
    assert rig.retracted, "notes planned ahead were never taken back when the player moved"
    sent = {(at, m.note) for at, m in rig.port.sent if m.type == "note_on" and m.velocity > 0}
    assert not {(note.start, note.pitch) for note in rig.retracted} & sent, "a note taken back was sent anyway"
    rig.run_to(start + 12 * 4 * BEAT)
    model = rig.model_notes()
    heard = [(round(n.start, 6), n.pitch) for n in rig.companion.history if not n.by_player]
    for begin, _, pitch in model:
        assert (round(begin, 6), pitch) in heard, "a model note that sounded never reached the model's state"
    player = [n.pitch for n in rig.companion.history if n.by_player]
    assert player == MELODY[:8]
    assert rig.scheduler.sounding() == []


@pytest.mark.parametrize("stop", ["transport", "play knob"])
def test_transport_stop_and_the_play_knob_silence_the_accompaniment_at_once(stop):
    transport = stop == "transport"  # the DAW's clock stops, or the player switches play off
    rig = Rig(random_weights(seed=11), accompany(knobs=((20, "play"),)), start=9.0 if transport else 10.0,
              daw=transport)
    rig.play(10.0, MELODY[:4])
    assert rig.companion.status == ACCOMPANYING
    rig.hear(mido.Message("stop") if transport else mido.Message("control_change", control=20, value=0))
    stopped_at = rig.clock.now
    rig.run_to(stopped_at + 0.01)
    assert rig.scheduler.sounding() == []
    rig.run_to(stopped_at + 4 * BEAT)
    later = [at for at, m in rig.port.sent if at > stopped_at + 0.01 and m.type == "note_on" and m.velocity]
    assert later == [], f"the model went on playing after the {stop} stopped it"
    rig.play(rig.clock.now + 0.1, MELODY[:4])
    assert rig.companion.status != ACCOMPANYING


def test_the_mode_knob_switches_between_answering_and_accompanying():
    rig = Rig(random_weights(seed=11), CompanionConfig(bpm=BPM, knobs=((21, "mode"),)))
    rig.play(10.0, MELODY[:4])
    assert rig.companion.status != ACCOMPANYING
    rig.hear(mido.Message("control_change", control=21, value=127))
    rig.play(rig.clock.now + 4 * BEAT, MELODY[:2])
    assert rig.companion.status == ACCOMPANYING


@pytest.mark.parametrize("tonic", [64, 70])  # E major, B-flat major: off the canonical key
def test_the_bundled_preset_accompanies_in_the_players_key(tonic):
    steps = (0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2, 0, 7)
    melody = [tonic + s for s in steps]
    rig = Rig(load("chorale").weights, accompany(), SamplingConfig(temperature=0.9, top_p=0.95), seed=1)
    start = 10.0
    rig.play(start, melody)
    rig.run_to(start + 8 * 4 * BEAT)
    played = rig.model_notes()
    assert len(played) >= 16, f"{len(played)} notes over four bars"
    notes = [codec.Note(round((b - start) / GRID), p, 80, max(1, round((e - b) / GRID))) for b, e, p in played]
    share = in_scale_ratio(Key(tonic % 12, "major"), notes)
    assert share >= 0.8, f"{share:.2f} of the accompaniment's note time in the player's scale"


def test_the_accompaniment_follows_the_players_dynamics_as_they_change():
    rig = Rig(random_weights(seed=11), accompany(rest_bars=2))
    start = 10.0
    rig.play(start, MELODY[:8], velocity=30)
    loud_start = rig.clock.now
    rig.play(loud_start, MELODY[8:] + MELODY[:8], velocity=110)
    velocities = [(at, m.velocity) for at, m in rig.port.sent if m.type == "note_on" and m.velocity > 0
                  and m.channel == 0]
    soft = [v for at, v in velocities if at < loud_start]
    loud = [v for at, v in velocities if at >= loud_start + 9 * BEAT]  # the player's last 8 notes are all loud
    assert len(soft) >= 4 and len(loud) >= 4, velocities
    assert np.mean(soft) < 45 and np.mean(loud) > 85, (soft, loud)
    assert len(set(soft)) > 1, "the model's own accents survive around the player's level"
