"""The answer's dynamics follow the player's level and keep the model's own accents."""

import mido
import numpy as np
import pytest

from livegen.live.engine import CompanionConfig
from livegen.music.dynamics import LEVEL_NOTES, Dynamics, check_follow, level
from tests.playing import BEAT, G_MAJOR_CALL, make, run_until


def test_the_level_is_the_mean_of_the_last_notes():
    assert level([]) is None
    assert level([40, 60]) == 50
    assert level([127] * 20 + [30] * LEVEL_NOTES) == 30  # a soft passage after a loud one: soft


def test_a_model_without_dynamics_answers_at_the_players_level():
    dynamics = Dynamics(1.0)
    for player in (30, 50, 70, 90, 110):
        assert [dynamics.velocity(76, player) for _ in range(12)] == [player] * 12


def test_accents_survive_around_the_players_level():
    bar = [100, 70, 85, 70]  # the model's own accents: strong, weak, medium, weak
    dynamics = Dynamics(1.0)
    first = [dynamics.velocity(v, 40.0) for v in bar * 4]
    assert first[0] == 40  # the first note knows no other level yet
    settled = [dynamics.velocity(v, 40.0) for v in bar * 4]
    model_level = sum(bar) / len(bar)
    expected = [v + 40 - model_level for v in bar * 4]  # each accent keeps its distance from the level
    assert max(abs(a - b) for a, b in zip(settled, expected)) <= 2, settled
    strong, weak, medium = settled[0], settled[1], settled[2]
    assert strong - weak >= 28 and strong > medium > weak
    soft, loud = Dynamics(1.0), Dynamics(1.0)
    assert [soft.velocity(v, 30) for v in bar * 8][-4:] < [loud.velocity(v, 110) for v in bar * 8][-4:]


def test_follow_zero_keeps_the_models_velocities_and_half_goes_half_way():
    own = Dynamics(0.0)
    assert [own.velocity(v, 30) for v in (76, 90)] == [76, 90]
    assert Dynamics(0.5).velocity(76, 36) == 56


def test_velocities_stay_midi_velocities():
    assert Dynamics(1.0).velocity(1, 127) == 127
    loud = Dynamics(1.0)
    loud.velocity(60, 120)
    assert loud.velocity(127, 120) == 127
    soft = Dynamics(1.0)
    soft.velocity(120, 1)
    assert soft.velocity(20, 1) == 1


def test_follow_outside_zero_to_one_is_refused_by_name():
    assert check_follow(0.25) == 0.25
    with pytest.raises(ValueError, match="follows your dynamics must be between 0 and 1, got 1.5"):
        Dynamics(1.5)


def answer_velocities(call_velocity, follow=1.0, seed=0):
    """The velocities of the companion's answer to a two-bar call played at ``call_velocity``."""
    companion, sink, _ = make(CompanionConfig(bpm=120, follow_dynamics=follow), seed=seed)
    now = 0.0
    for index, pitch in enumerate(G_MAJOR_CALL):
        at = index * BEAT
        now = run_until(companion, now, at)
        companion.hear(mido.Message("note_on", note=pitch, velocity=call_velocity), at)
        now = run_until(companion, now, at + 0.4 * BEAT)
        companion.hear(mido.Message("note_off", note=pitch), now)
    run_until(companion, now, now + 6 * BEAT)
    return [note.velocity for note in sink.notes()]


LEVELS = (30, 50, 70, 90, 110)


def test_a_soft_call_gets_a_soft_answer_and_a_loud_call_a_loud_one():
    answers = {level: answer_velocities(level) for level in LEVELS}
    assert all(answers.values()), "every call was answered"
    means = [float(np.mean(answers[level])) for level in LEVELS]
    assert np.corrcoef(LEVELS, means)[0, 1] >= 0.9, means
    assert means[0] < 45 and means[-1] > 95, means


def test_the_models_accents_survive_within_the_answer():
    own = answer_velocities(30, follow=0.0)
    followed = answer_velocities(30, follow=1.0)
    assert len(own) == len(followed)  # dynamics move velocities only: the model chooses the same notes
    assert len(set(own)) > 1, "the untrained model has accents of its own"
    assert np.corrcoef(own, followed)[0, 1] > 0.9, (own, followed)
    assert np.mean(followed) < np.mean(own) - 20  # yet at the soft call's level


def test_follow_zero_answers_as_the_model_plays_whatever_the_call():
    assert answer_velocities(30, follow=0.0) == answer_velocities(110, follow=0.0)


def test_the_dynamics_knob_turns_following_off_and_on():
    companion, sink, _ = make(CompanionConfig(knobs=((25, "dynamics"),)))
    companion.hear(mido.Message("control_change", control=25, value=0), 0.0)
    assert companion.dynamics.follow == 0.0
    companion.hear(mido.Message("control_change", control=25, value=127), 0.0)
    assert companion.dynamics.follow == 1.0


def test_offline_continuations_follow_the_primes_level_too():
    from livegen.model.generate import continue_notes
    from livegen.model.runtime import StepModel
    from livegen.model.sampling import Sampler, SamplingConfig
    from livegen.music import codec
    from tests.helpers import phrase, random_weights

    model = StepModel(random_weights(seed=4))

    def velocities(prime_velocity, follow):
        prime = [codec.Note(n.onset, n.pitch, prime_velocity, n.duration) for n in phrase()]
        result = continue_notes(model, "canonical", prime, codec.Meter(), 4, Sampler(SamplingConfig(), seed=2),
                                follow_dynamics=follow)
        return [note.velocity for note in result.notes]

    soft, loud = velocities(30, 1.0), velocities(110, 1.0)
    assert soft and loud
    assert np.mean(soft) < 50 < 90 < np.mean(loud)
    own = velocities(30, 0.0)
    assert len(own) == len(soft) and own != soft  # the same notes, at the model's own velocities
