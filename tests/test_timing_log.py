"""The session's timing log: what was heard and sent, written whole and read back, and what the status line shows."""

import json
import types

import mido

from livegen.live import timing
from livegen.live.scheduler import Scheduler, TimedNote
from livegen.live.session.status import status_line
from tests.fakes import FakeClock, FakePort


def test_a_scheduler_logs_each_send_with_its_deadline_and_the_log_reads_back_in_time_order(tmp_path):
    log = timing.TimingLog()
    clock = FakeClock(10.0)
    scheduler = Scheduler(FakePort(), now=clock, timing=log)
    scheduler.play([TimedNote(10.010, 10.020, 60, 90)])
    log.heard(10.001, "keys", mido.Message("note_on", channel=15, note=67, velocity=80))
    clock.now = 10.0104
    scheduler.send_due(clock())
    clock.now = 10.0201
    scheduler.send_due(clock())
    scheduler.stop(panic=True)
    path = tmp_path / "timing.jsonl"
    assert log.write(path) == len(log.heard_messages) + len(log.sent_messages)
    heard, sent = timing.read(path)
    assert heard == [timing.Heard(10.001, "keys", (0x9F, 67, 80))]
    assert sent[:2] == [timing.Sent(10.0104, 10.010, "fake", (0x90, 60, 90)),
                        timing.Sent(10.0201, 10.020, "fake", (0x80, 60, 0))]
    assert all(s.due is None for s in sent[2:]) and sent[2:], "the panic is logged, due at once"
    times = [json.loads(line).get("heard", json.loads(line).get("sent")) for line in path.read_text().splitlines()]
    assert times == sorted(times)


def test_the_status_line_shows_jack_xruns_only_once_there_are_some(tiny_preset):
    from livegen.model import preset
    from livegen.live.engine import Companion, CompanionConfig
    from livegen.live.recorder import Recorder
    from livegen.model.runtime import StepModel
    from livegen.model.sampling import Sampler, SamplingConfig
    from tests.fakes import FakeSink

    companion = Companion(StepModel(preset.load(str(tiny_preset)).weights), Sampler(SamplingConfig()), FakeSink(),
                          CompanionConfig())
    session = types.SimpleNamespace(waiting_for=[], companion=companion, recorder=Recorder(),
                                    xruns=types.SimpleNamespace(count=0), link=None)
    assert "xruns" not in status_line(session)
    session.xruns.count = 3
    assert status_line(session).endswith("JACK xruns 3")
    session.xruns = None  # not on JACK
    assert "xruns" not in status_line(session)


def test_the_status_line_shows_the_link_sessions_tempo_peers_and_phase(tiny_preset):
    from livegen.live.engine import Companion, CompanionConfig
    from livegen.live.link import LinkWatcher
    from livegen.live.recorder import Recorder
    from livegen.model import preset
    from livegen.model.runtime import StepModel
    from livegen.model.sampling import Sampler, SamplingConfig
    from tests.fakes import FakeClock, FakeLinkBinding, FakeSink

    clock = FakeClock(now=10.75)  # Link's beat 21.5: phase 1.5 in a bar of 4
    watcher = LinkWatcher(FakeLinkBinding(clock, bpm=120.0, peers=2), 4, 120.0, False, False, print, perf_now=clock)
    companion = Companion(StepModel(preset.load(str(tiny_preset)).weights), Sampler(SamplingConfig()), FakeSink(),
                          CompanionConfig(), clock=watcher.clock)
    session = types.SimpleNamespace(waiting_for=[], companion=companion, recorder=Recorder(), xruns=None,
                                    link=watcher)
    assert status_line(session).endswith("Link 120.0 bpm 2 peers phase 1.5/4")
