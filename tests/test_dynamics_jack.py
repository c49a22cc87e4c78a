"""Over real JACK ports: a soft call gets a soft answer and a loud call a loud one, in one session."""

import time

import numpy as np
import pytest

from livegen.model import preset as presets
from tests.test_play_jack import (  # noqa: F401 (player: a fixture)
    play_notes, player, start_livegen, stop, wait_for_answer,
)

pytestmark = pytest.mark.jack

LEVELS = (30, 110)


def answer_velocities_after(player, since):
    return [m.velocity for t, m in player.heard(own=False)
            if t >= since and m.type == "note_on" and m.velocity > 0]


def test_the_answer_follows_the_players_level(player, tmp_path):
    chorale = presets.find("chorale")  # learned from scores without dynamics: one velocity on its own
    process, livegen_in, livegen_out = start_livegen(chorale, tmp_path, "--answer-bars", "2", "--quiet")
    levels = {}
    try:
        player.connect(livegen_in, livegen_out)
        for velocity in LEVELS:
            started = time.perf_counter()
            play_notes(player, velocity=velocity)
            wait_for_answer(player, started, bars=2)
            levels[velocity] = answer_velocities_after(player, started)
    finally:
        code, errors = stop(process)
    assert code == 0, errors
    soft, loud = (levels[level] for level in LEVELS)
    assert soft and loud, f"both calls were answered; livegen said: {errors}"
    assert abs(np.mean(soft) - 30) <= 8 and abs(np.mean(loud) - 110) <= 8, (soft, loud)
