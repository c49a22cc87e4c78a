"""Following an Ableton Link session, on a fake session and a fake clock: the grid, the bar line,
tempo changes, start and stop; the command line's refusals; and the namespace every peer needs."""

import mido
import pytest
from click.testing import CliRunner

from livegen.cli import cli
from livegen.live import netns
from livegen.live.engine import Companion, CompanionConfig
from livegen.live.link import LINK_START, LINK_STOP, LinkWatcher
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from tests.fakes import FakeClock, FakeLinkBinding, FakeSink
from tests.helpers import random_weights
from tests.playing import play_call, run_until

QUANTUM = 4


def watcher(clock, binding, start_stop=False, propose=False, bpm=120.0):
    posted = []
    joined = LinkWatcher(binding, QUANTUM, bpm, propose, start_stop, posted.append, perf_now=clock)
    return joined, posted


def test_the_clock_reads_the_sessions_beats_and_its_bar_line_is_beat_zero():
    clock = FakeClock(now=10.3)
    binding = FakeLinkBinding(clock, bpm=120.0)
    joined, _ = watcher(clock, binding)
    link_clock = joined.clock
    assert joined.origin == 20.0, "Link's beat 20.6 at joining: beat 0 is the bar line at or before it"
    assert link_clock.beats_at(10.3) == pytest.approx(0.6)
    assert link_clock.time_of_beat(4.0) == pytest.approx(12.0)
    assert link_clock.bpm == pytest.approx(120.0) and link_clock.started


def test_a_tempo_change_by_another_peer_keeps_the_beat_and_moves_the_grid_after_it():
    clock = FakeClock(now=10.0)
    binding = FakeLinkBinding(clock, bpm=120.0)
    joined, _ = watcher(clock, binding)
    clock.now = 11.0
    binding.set_tempo(90.0)
    joined.refresh()
    assert joined.clock.beats_at(11.0) == pytest.approx(2.0)
    assert joined.clock.time_of_beat(5.0) == pytest.approx(11.0 + 3 * 60 / 90)


def test_proposing_a_tempo_moves_the_session_to_it():
    clock = FakeClock(now=10.0)
    binding = FakeLinkBinding(clock, bpm=120.0)
    joined, _ = watcher(clock, binding, propose=True, bpm=96.0)
    assert binding.session["bpm"] == 96.0 and joined.clock.bpm == pytest.approx(96.0)


def test_with_start_stop_the_session_starts_bar_one_where_it_started_and_stops_the_companion():
    clock = FakeClock(now=10.0)
    binding = FakeLinkBinding(clock, bpm=120.0)
    joined, posted = watcher(clock, binding, start_stop=True)
    assert not joined.clock.started
    binding.play(at=10.5)
    clock.now = 10.501
    joined.refresh()
    (at, event), = posted
    assert at == pytest.approx(10.5) and event.type == LINK_START and joined.clock.started
    assert joined.clock.beats_at(10.5) == pytest.approx(0.0), "bar 1 begins where the session started"
    assert joined.clock.hear(event, at) == "start"
    binding.session["playing"] = False
    joined.refresh()
    assert posted[-1][1].type == LINK_STOP and joined.clock.hear(posted[-1][1], clock.now) == "stop"
    assert joined.clock.hear(mido.Message("start"), clock.now) is None, "a MIDI start on a port is not Link's"


def test_the_companion_answers_on_the_link_grid_and_on_its_bar_lines():
    clock = FakeClock(now=10.13)
    binding = FakeLinkBinding(clock, bpm=100.0)
    joined, _ = watcher(clock, binding, bpm=100.0)
    sink = FakeSink()
    companion = Companion(StepModel(random_weights(seed=11)), Sampler(SamplingConfig(), seed=0), sink,
                          CompanionConfig(bpm=100.0, start_on="bar", answer_bars=1), clock=joined.clock)
    now = play_call(companion, 10.2, [60, 64, 67, 72], beat_seconds=0.6)
    run_until(companion, now, now + 6)
    onsets = [note.start for _, note in sink.played]
    assert onsets, "the companion answered"
    beats = [joined.clock.beats_at(t) for t in onsets]
    assert all(abs(b * 12 - round(b * 12)) < 1e-6 for b in beats), "every note on the session's 1/12-beat grid"
    bars = beats[0] / QUANTUM
    assert abs(bars - round(bars)) < 1e-6, "the answer starts on the session's bar line"


@pytest.mark.parametrize("arguments, message", [
    (["--link", "--clock", "in"], "--clock follows a MIDI clock and --link an Ableton Link session: choose one"),
    (["--link", "--bpm", "auto"], "it cannot go with --link, which sets the beat itself"),
    (["--link", "--send-clock"], "--link follows the Link session's beat: it cannot go with --metronome"),
    (["--link-start-stop"], "--link-start-stop starts and stops with an Ableton Link session: add --link"),
])
def test_link_options_that_make_no_sense_are_refused(arguments, message):
    result = CliRunner().invoke(cli, ["play", "--virtual", *arguments])
    assert result.exit_code == 2 and message in result.output, result.output


def test_without_the_extra_link_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "link", None)  # as a base install: no Link module
    result = CliRunner().invoke(cli, ["play", "--virtual", "--link", "--duration", "1"])
    assert result.exit_code == 1
    assert "--link needs Ableton Link" in result.output and "pip install 'livegen[link]'" in result.output


def test_a_link_peer_refuses_to_start_on_a_network_with_more_than_lo(monkeypatch):
    monkeypatch.setattr(netns.socket, "if_nameindex", lambda: [(1, "lo"), (2, "eth0")])
    with pytest.raises(netns.NotPrivate, match=r"refusing to start a Link peer on a network with \['eth0', 'lo'\]"):
        netns.enter()
