"""The scheduler's pure part on a fake clock: order, tracking, cancel, and the stop that silences."""

import mido

from livegen.live.recorder import MODEL, Recorder
from livegen.live.scheduler import Scheduler, TimedNote
from tests.fakes import FakeClock, FakePort


def make():
    clock, port = FakeClock(), FakePort()
    return Scheduler(port, now=clock, recorder=Recorder()), clock, port


def test_messages_go_out_at_their_deadlines_in_order():
    scheduler, clock, port = make()
    scheduler.play([TimedNote(101.0, 101.5, 60, 90), TimedNote(100.5, 102.0, 64, 80)], tag=1)
    assert scheduler.next_deadline() == 100.5
    clock.now = 100.4
    assert scheduler.send_due(clock.now) == 0
    clock.now = 101.0
    scheduler.send_due(clock.now)
    assert [(m.type, m.note) for m in port.messages] == [("note_on", 64), ("note_on", 60)]
    assert sorted(scheduler.sounding()) == [(0, 60), (0, 64)]
    clock.now = 103.0
    scheduler.send_due(clock.now)
    assert scheduler.sounding() == [] and scheduler.pending() == 0


def test_a_repeated_pitch_is_released_before_it_restarts_at_the_same_deadline():
    scheduler, clock, port = make()
    scheduler.play([TimedNote(100.0, 100.5, 60, 90), TimedNote(100.5, 101.0, 60, 70)])
    clock.now = 100.7
    scheduler.send_due(clock.now)
    assert [(m.type, m.velocity) for m in port.messages] == [("note_on", 90), ("note_off", 0), ("note_on", 70)]
    assert scheduler.sounding() == [(0, 60)]


def test_cancel_drops_what_is_pending_and_releases_what_sounds_of_that_answer_only():
    scheduler, clock, port = make()
    scheduler.play([TimedNote(100.0, 104.0, 60, 90), TimedNote(103.0, 104.0, 62, 90)], tag=1)
    scheduler.play([TimedNote(100.0, 104.0, 72, 90)], tag=2)
    clock.now = 100.1
    scheduler.send_due(clock.now)
    scheduler.cancel(1)
    clock.now = 100.2
    scheduler.send_due(clock.now)
    assert port.messages[-1] == mido.Message("note_off", note=60, velocity=0)
    assert scheduler.sounding() == [(0, 72)]
    clock.now = 105.0
    scheduler.send_due(clock.now)
    assert all(m.note != 62 for m in port.messages), "the cancelled answer's later note never starts"


def test_stop_releases_every_sounding_note_then_pedal_and_all_notes_off_and_records_it():
    scheduler, clock, port = make()
    scheduler.play([TimedNote(100.0, 110.0, 60, 90, channel=2)])
    scheduler.send_due(100.0)
    released = scheduler.stop(panic=True)
    assert released == [(2, 60)]
    assert port.messages[1] == mido.Message("note_off", channel=2, note=60)
    assert [(m.control, m.value) for m in port.messages[2:]] == [(64, 0), (123, 0), (120, 0)]
    assert scheduler.pending() == 0
    assert scheduler.recorder.count(MODEL, "note_off") == 1


def test_lateness_is_measured_against_the_absolute_deadline():
    scheduler, clock, port = make()
    scheduler.play([TimedNote(100.0, 100.25, 60, 90)])
    clock.now = 100.003
    scheduler.send_due(clock.now)
    assert abs(scheduler.lateness[0] - 0.003) < 1e-9


def test_nothing_goes_out_after_the_stop_even_from_a_late_send():
    scheduler, clock, port = make()
    scheduler.play([TimedNote(100.0, 101.0, 60, 90)])
    scheduler.stop(panic=True)
    sent = len(port.messages)
    scheduler.play([TimedNote(100.0, 101.0, 62, 90)])  # an engine thread that outlived its join
    assert scheduler.send_due(102.0) == 0
    assert len(port.messages) == sent


def test_a_port_that_comes_back_hears_the_first_messages_before_any_due_note():
    scheduler, clock, port = make()
    scheduler.play([TimedNote(100.0, 100.5, 60, 90)], tag=1)
    program = mido.Message("program_change", program=4)
    assert not scheduler.connect_first(lambda: False, [program])  # not back yet: nothing sent
    assert port.messages == []
    assert scheduler.connect_first(lambda: True, [program])
    clock.now = 100.1
    scheduler.send_due(clock.now)
    assert [m.type for m in port.messages] == ["program_change", "note_on"]
    assert [m.type for _, m in scheduler.sent] == ["program_change", "note_on"]


def two_outputs(early=0.02):
    """A scheduler sending to a synth on time and to a DAW track ``early`` seconds ahead."""
    clock = FakeClock()
    synth, track = FakePort(clock), FakePort(clock)
    track.name = "track"
    return Scheduler(synth, now=clock, recorder=Recorder(), also=((track, early),)), clock, synth, track


def sent_times(port, kind):
    return [round(at, 6) for at, message in port.sent if message.type == kind]


def test_each_output_gets_every_note_its_own_offset_early():
    scheduler, clock, synth, track = two_outputs()
    scheduler.play([TimedNote(100.5, 101.0, 60, 90), TimedNote(101.0, 101.5, 64, 90)], tag=1)
    while scheduler.next_deadline() is not None:
        clock.now = scheduler.next_deadline()
        scheduler.send_due(clock.now)
    assert sent_times(synth, "note_on") == [100.5, 101.0] and sent_times(synth, "note_off") == [101.0, 101.5]
    assert sent_times(track, "note_on") == [100.48, 100.98] and sent_times(track, "note_off") == [100.98, 101.48]
    assert scheduler.recorder.count(MODEL, "note_on") == 2, "the recording counts each note once"


def test_a_note_already_started_on_the_earlier_output_is_not_taken_back():
    scheduler, clock, synth, track = two_outputs()
    scheduler.play([TimedNote(100.5, 101.0, 60, 90), TimedNote(101.0, 101.5, 64, 90)], tag=1)
    clock.now = 100.49  # the track has its first note, the synth not yet
    scheduler.send_due(clock.now)
    taken = scheduler.retract(1, not_before=100.49)
    assert {note.pitch for note in taken} == {64}, "the note the track already plays stays, everywhere"
    clock.now = 102.0
    scheduler.send_due(clock.now)
    assert [m.note for m in synth.messages] == [60, 60] and [m.note for m in track.messages] == [60, 60]


def test_cancel_and_stop_release_what_sounds_on_each_output():
    scheduler, clock, synth, track = two_outputs()
    scheduler.play([TimedNote(100.5, 103.0, 60, 90)], tag=1)
    scheduler.play([TimedNote(100.5, 103.0, 67, 90)], tag=2)
    clock.now = 100.49
    scheduler.send_due(clock.now)  # both notes sound on the track only
    scheduler.cancel(1)
    clock.now = 100.495
    scheduler.send_due(clock.now)
    assert track.messages[-1] == mido.Message("note_off", note=60, velocity=0)
    assert all(m.note != 60 for m in synth.messages), "the cancelled note never starts on the synth"
    clock.now = 100.6
    scheduler.send_due(clock.now)
    assert scheduler.stop(panic=True) == [(0, 67)]
    for port in (synth, track):
        assert mido.Message("note_off", note=67) in port.messages and \
            mido.Message("control_change", control=123, value=0) in port.messages
