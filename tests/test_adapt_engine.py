"""The companion learning the player on a fake clock: what it learns, that adapt 0 changes nothing,
that the answer leans towards the player as adapt rises, and the knobs and the transport."""

import mido
import pytest

from livegen.live.engine import Companion, CompanionConfig
from livegen.model.session_model import SessionModel
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.music import codec
from tests.fakes import FakeSink
from tests.helpers import random_weights
from tests.playing import BEAT, G_MAJOR_CALL, play_call, run_until
from tests.test_accompany import MELODY, Rig, accompany


class Spy(Sampler):
    """A sampler that keeps every blend it is handed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.blends = []

    def choose(self, logits, cursor, floor=None, blend=None, barred=None, cadence=None):
        self.blends.append(blend)
        return super().choose(logits, cursor, floor, blend, barred, cadence)


def companion(adapt, memory=None, mode="answer", seed=0, knobs=()):
    sink = FakeSink()
    sampler = Spy(SamplingConfig(temperature=0.9, top_p=0.95), seed=seed)
    config = CompanionConfig(bpm=120, answer_bars=2, mode=mode, adapt=adapt, knobs=knobs)
    return Companion(StepModel(random_weights(seed=11)), sampler, sink, config, memory=memory), sink, sampler


def session(adapt, memory=None, mode="answer", calls=3, seed=0, pitches=G_MAJOR_CALL):
    """``calls`` calls, each answered (or accompanied) before the next; what the sink was given."""
    played, sink, sampler = companion(adapt, memory, mode, seed)
    now = 10.0
    for _ in range(calls):
        now = play_call(played, now, pitches)
        now = run_until(played, now, now + 12 * BEAT)
    return played, sink, sampler


def learned(calls=4, pitches=G_MAJOR_CALL):
    """The session model of a companion that heard ``calls`` calls."""
    return session(0.0, calls=calls, pitches=pitches)[0].adaptation.model


def booked(sink):
    return [(tag, note.start, note.end, note.pitch, note.velocity) for tag, note in sink.played]


@pytest.mark.parametrize("mode", ["answer", "accompany"])
def test_adapt_zero_plays_exactly_what_the_companion_played_before_it_learned_anything(mode):
    """At adapt 0 the sampler is never handed a blend, so it draws as it always did (tests/test_adapt.py
    shows that a sampler given no blend is the old sampler): note for note the same, however much it
    has learned; at adapt 1 the same session goes elsewhere."""
    remembered = learned()
    assert len(remembered) > 20
    _, plain, _ = session(0.0, SessionModel(), mode)
    knowing, sink, sampler = session(0.0, remembered, mode)
    assert booked(sink) == booked(plain) and len(booked(sink)) >= 8
    assert set(sampler.blends) == {None}
    assert len(knowing.adaptation.model) >= len(remembered), "at adapt 0 it still learns, for when it is turned up"
    _, adapted, adapted_sampler = session(1.0, learned(), mode)
    assert booked(adapted) != booked(plain)
    assert any(blend is not None for blend in adapted_sampler.blends)


def test_it_learns_the_players_tokens_in_the_key_it_hears_them_and_not_its_own_notes():
    """Accompany mode feeds both streams to the state; only the player's notes are learned (the model's
    are heard, as contexts). The model plays two octaves above the player, so a pitch tells whose it was."""
    rig = Rig(random_weights(seed=11), accompany(adapt=0.5), SamplingConfig(pitch_low=96, pitch_high=108))
    rig.play(10.0, MELODY)
    rig.run_to(rig.clock.now + 8 * BEAT)
    assert [n for n in rig.companion.history if not n.by_player], "the model played along"
    shift = rig.companion.priming.shift()
    heard_pitches = {codec.pitch_token(pitch + shift) for pitch in MELODY}
    entries = list(rig.companion.adaptation.model.entries())
    learned_pitches = {token for _, counts in entries for token in counts
                       if codec.PITCH_BASE <= token < codec.VELOCITY_BASE}
    assert learned_pitches == heard_pitches
    assert any(token >= codec.pitch_token(96) for context, _ in entries for token in context
               if codec.PITCH_BASE <= token < codec.VELOCITY_BASE), "the model's notes are part of the contexts"


def share_in(notes, pitches):
    return sum(note.pitch in pitches for note in notes) / len(notes)


def test_the_answer_leans_towards_the_players_material_as_adapt_rises():
    call = [60, 64, 67, 72, 67, 64, 62, 60]  # C major: no canonical move, so the pitches compare as played
    remembered = learned(calls=4, pitches=call)
    shares = {}
    for adapt in (0.0, 1.0):
        _, sink, _ = session(adapt, SessionModel() if adapt == 0 else remembered, calls=1, pitches=call, seed=4)
        shares[adapt] = share_in(sink.notes(), set(call))
    assert shares[0.0] < 0.3 and shares[1.0] > 0.6, shares


def test_the_adapt_knob_and_the_forget_control_turn_by_cc():
    played, _, _ = companion(0.2, learned(), knobs=((21, "adapt"), (22, "forget")))
    played.hear(mido.Message("control_change", control=21, value=127), 1.0)
    assert played.adaptation.adapt == 1.0
    played.hear(mido.Message("control_change", control=21, value=0), 1.1)
    assert played.adaptation.adapt == 0.0
    before = len(played.adaptation.model)
    played.hear(mido.Message("control_change", control=22, value=10), 1.2)
    assert len(played.adaptation.model) == before > 0, "below the middle the forget control does nothing"
    played.hear(mido.Message("control_change", control=22, value=127), 1.3)
    assert len(played.adaptation.model) == 0


def test_a_transport_restart_goes_back_to_what_the_session_began_with():
    remembered = learned(calls=1)
    at_start = list(remembered.entries())
    rig = Rig(random_weights(seed=11), CompanionConfig(bpm=120, adapt=0.5), start=9.0, daw=True)
    rig.companion = Companion(StepModel(random_weights(seed=11)), Sampler(seed=0), rig.scheduler,
                              CompanionConfig(bpm=120, adapt=0.5), rig.companion.clock, memory=remembered)
    rig.play(10.0, [61, 66, 70, 73, 70, 66])  # F# major: new material
    rig.run_to(rig.clock.now + 2 * BEAT)
    assert len(rig.companion.adaptation.model) > len(at_start)
    rig.hear(mido.Message("stop"))
    rig.hear(mido.Message("start"))
    assert list(rig.companion.adaptation.model.entries()) == at_start
