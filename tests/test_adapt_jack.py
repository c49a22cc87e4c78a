"""Over real JACK ports: `livegen play --adapt` learns the player, its knob turns by CC, and
`--session-memory` carries what it learned from one run to the next (and refuses a file it cannot read)."""

import json
import time

import mido
import pytest

from tests import jackutil

from tests.test_play_jack import (  # noqa: F401 (player: a fixture)
    play_notes, player, start_livegen, stop, wait_for_answer,
)

pytestmark = pytest.mark.jack

CALL = [60, 64, 67, 72, 67, 64, 62, 60]  # C major, two bars of quarters


def answer_pitches(player, since):
    return [m.note for t, m in player.heard(own=False) if t >= since and m.type == "note_on" and m.velocity > 0]


def call_and_answer(player, call=CALL, bars=2):
    """Play the call, wait for its ``bars``-bar answer to end, return its pitches."""
    started = time.perf_counter()
    play_notes(player, call)
    wait_for_answer(player, started, bars)
    return answer_pitches(player, started)


def share_of_the_call(pitches):
    return sum(pitch in CALL for pitch in pitches) / len(pitches)


def turn(player, control, value):
    """Turn a knob, and wait until it reached livegen's port: the player's own ears hear it in the same
    JACK cycle, and from there livegen takes it (before the next call's notes, or while it stops)."""
    def heard():
        return sum(m.type == "control_change" and m.control == control and m.value == value
                   for _, m in player.heard(own=True))

    before = heard()
    player.send(mido.Message("control_change", channel=15, control=control, value=value))
    jackutil.wait_until(lambda: heard() > before, f"CC {control} reached livegen's port")


def test_adapt_answers_the_knob_turns_it_and_the_memory_carries_over_to_the_next_run(player, tiny_preset, tmp_path):
    remembered = tmp_path / "me.json"
    options = ("--answer-bars", "2", "--knob", "adapt=21", "--knob", "forget=22", "--session-memory", remembered,
               "--quiet")
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--adapt", "0.5", *options)
    answers = {}
    try:
        player.connect(livegen_in, livegen_out)
        answers["0.5"] = call_and_answer(player)
        call_and_answer(player)
        turn(player, 21, 127)
        # Three answers, heard after the call was played twice, three and four times: one two-bar answer
        # is a dozen notes, and how far it goes on with the call depends on where its sampling ran out
        # of contexts (two answers pooled: 0.61 on a loaded machine, 0.48 once in a full run).
        answers["1"] = call_and_answer(player) + call_and_answer(player) + call_and_answer(player)
        turn(player, 21, 0)
        answers["0"] = call_and_answer(player)
    finally:
        code, said = stop(process)
    assert code == 0, said
    assert all(answers.values()), f"every call was answered: {answers}; livegen said: {said}"
    assert share_of_the_call(answers["1"]) >= 0.5, answers  # the tiny preset alone: 0 to 0.15
    assert share_of_the_call(answers["0"]) <= 0.35, answers
    contexts = len(json.loads(remembered.read_text())["contexts"])
    assert contexts > 0 and f"saved {contexts} contexts of your playing to {remembered}" in said

    # The next run hears only the call's first two notes: what it answers with, it remembers.
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--adapt", "1", *options)
    try:
        player.connect(livegen_in, livegen_out)
        first = call_and_answer(player, CALL[:2])
        turn(player, 22, 127)
    finally:
        code, said_again = stop(process)
    assert code == 0, said_again
    assert first and share_of_the_call(first) >= 0.6, f"the second run's first answer goes on with the call: {first}"
    assert json.loads(remembered.read_text())["contexts"] == [], "the forget control forgot everything"
    assert f"saved 0 contexts of your playing to {remembered}" in said_again


def test_a_file_that_is_not_a_session_memory_is_refused_the_session_plays_on_and_the_file_is_kept(player, tiny_preset,
                                                                                                    tmp_path):
    foreign = tmp_path / "knobs.json"
    foreign.write_text('{"temperature": 21}\n')
    process, livegen_in, livegen_out = start_livegen(tiny_preset, tmp_path, "--answer-bars", "1",
                                                    "--session-memory", foreign, "--quiet")
    try:
        player.connect(livegen_in, livegen_out)
        answered = call_and_answer(player)
    finally:
        code, said = stop(process)
    assert code == 0, said
    assert answered, f"the session went on and answered; livegen said: {said}"
    assert foreign.read_text() == '{"temperature": 21}\n'
    assert f"left {foreign} as it was" in said
