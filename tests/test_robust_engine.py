"""Bad live input on a fake clock: stray releases, every key at once, garbage controls, floods, endless holds."""

import random
import time

import mido
import pytest

from livegen.music import codec
from livegen.live.engine import ANSWERING, LISTENING, MAX_HISTORY_NOTES, CompanionConfig
from tests.playing import BEAT, G_MAJOR_CALL, make, play_call, run_until


def message(kind, **fields):
    return mido.Message(kind, **fields)


def answer_notes(sink):
    return [note for tag, note in sink.played if tag > 0]


def assert_answer_on_the_beat(companion, sink, now):
    """After the phrase end, the answer's first note lands on a beat line of the call's grid."""
    now = run_until(companion, now, now + 2 * BEAT + 0.02)
    assert companion.status == ANSWERING
    notes = answer_notes(sink)
    assert notes, "an answer was booked"
    first = min(n.start for n in notes if n.start >= companion.phrase_ended_at)
    beats = companion.clock.beats_at(first)
    assert beats == pytest.approx(round(beats), abs=1e-9)
    assert all(codec.PITCH_LOW <= n.pitch <= codec.PITCH_HIGH and n.end > n.start for n in notes)
    return now


def sizes(companion):
    return {"history": len(companion.history), "waiting": len(companion.performance.waiting), "held": len(companion.performance.held),
            "sustained": len(companion.performance.sustained)}


def test_releases_of_keys_never_pressed_change_nothing():
    companion, sink, _ = make()
    for pitch in range(128):
        companion.hear(message("note_off", note=pitch, channel=pitch % 16), 1.0)
        companion.hear(message("note_on", note=pitch, velocity=0, channel=15), 1.0)
    run_until(companion, 1.0, 4.0)
    assert companion.status == LISTENING and sink.played == [] and sizes(companion) == dict.fromkeys(sizes(companion), 0)


def test_all_128_keys_held_then_released_are_heard_and_answered():
    companion, sink, _ = make(CompanionConfig(answer_bars=1))
    for pitch in range(128):
        companion.hear(message("note_on", note=pitch, velocity=1 + pitch % 127), 1.0)
    assert len(companion.performance.held) == 128
    now = run_until(companion, 1.0, 2.0)
    for pitch in range(128):
        companion.hear(message("note_off", note=pitch), now)
    assert companion.performance.held == {}
    assert_answer_on_the_beat(companion, sink, now)


def test_velocity_zero_note_on_is_a_release_and_channel_16_is_heard():
    companion, sink, _ = make()
    companion.hear(message("note_on", note=60, velocity=90, channel=15), 1.0)
    assert companion.performance.held.keys() == {60}
    companion.hear(message("note_on", note=60, velocity=0, channel=15), 1.2)
    assert companion.performance.held == {} and companion.performance.call[0].end == 1.2
    filtered, _, _ = make(CompanionConfig(in_channel=0))
    filtered.hear(message("note_on", note=60, velocity=90, channel=15), 1.0)
    assert filtered.status == LISTENING


def garbage(rng):
    """Controls with every number and extreme value, bends, aftertouch, programs, sysex, clock without start."""
    for control in range(128):
        if control == 64:
            continue  # the pedal is musical: held down, it rightly keeps the phrase open
        for value in (0, 127, rng.randrange(128)):
            yield message("control_change", control=control, value=value, channel=rng.randrange(16))
    for pitch in (-8192, 8191, 0):
        yield message("pitchwheel", pitch=pitch, channel=15)
    for value in (0, 127):
        yield message("aftertouch", value=value)
        yield message("polytouch", note=rng.randrange(128), value=value, channel=15)
        yield message("program_change", program=value)
    yield message("sysex", data=[rng.randrange(128) for _ in range(300)])
    yield from (mido.Message("clock") for _ in range(96))
    yield message("songpos", pos=16383)
    yield message("control_change", control=64, value=0)


def test_garbage_input_leaves_the_companion_answering_on_the_beat():
    companion, sink, _ = make()
    rng = random.Random(1)
    now = 0.5
    for item in garbage(rng):
        companion.hear(item, now)
        now += 0.0005
        companion.tick(now)
    assert companion.status == LISTENING and not sink.played
    now = play_call(companion, now + 0.3, G_MAJOR_CALL)
    assert_answer_on_the_beat(companion, sink, now)


def test_notes_off_the_piano_are_answered_on_the_piano():
    companion, sink, _ = make()
    pitches = [0, 5, 12, 20, 109, 115, 120, 127]
    now = play_call(companion, 1.0, pitches)
    assert_answer_on_the_beat(companion, sink, now)


def test_very_fast_repeated_notes_keep_the_seed_buffer_bounded():
    companion, sink, _ = make()
    at = 1.0
    for _ in range(2000):  # one key struck every 4 ms for 8 s
        companion.hear(message("note_on", note=60, velocity=100), at)
        companion.hear(message("note_off", note=60), at + 0.002)
        at += 0.004
        companion.tick(at)
    assert len(companion.history) <= MAX_HISTORY_NOTES
    assert len(companion.performance.waiting) < 20
    assert_answer_on_the_beat(companion, sink, at)


def test_a_key_held_for_three_minutes_is_encoded_once_and_then_answered():
    companion, sink, _ = make(CompanionConfig(answer_bars=1))
    companion.hear(message("note_on", note=64, velocity=80), 1.0)
    now = run_until(companion, 1.0, 181.0, tick=0.01)
    assert companion.status != ANSWERING, "a held key keeps the phrase open"
    assert companion.performance.waiting == [] and len(companion.history) == 1, "encoded at the longest duration, once"
    companion.hear(message("note_off", note=64), now)
    assert_answer_on_the_beat(companion, sink, now)


def flood(companion, count, seconds, rng, start=1.0):
    """``count`` random messages over ``seconds``, ticking every 2 ms; returns wall seconds per tenth and peak sizes."""
    kinds = ["note_on"] * 5 + ["note_off"] * 4 + ["control_change", "pitchwheel", "aftertouch", "sysex", "clock"]
    peaks = dict.fromkeys(sizes(companion), 0)
    wall_per_tenth = []
    next_tick, tenth, started = start, count // 10, time.perf_counter()
    for index in range(count):
        at = start + seconds * index / count
        kind = rng.choice(kinds)
        if kind in ("note_on", "note_off"):
            item = message(kind, note=rng.randrange(128), velocity=rng.randrange(1, 128), channel=rng.randrange(16))
        elif kind == "control_change":
            item = message(kind, control=rng.choice([1, 7, 10, 11, 64, 74, 91, 120, 121, 123]),
                           value=rng.randrange(128))
        elif kind == "pitchwheel":
            item = message(kind, pitch=rng.randrange(-8192, 8192))
        elif kind == "aftertouch":
            item = message(kind, value=rng.randrange(128))
        elif kind == "sysex":
            item = message(kind, data=[1, 2, 3])
        else:
            item = mido.Message("clock")
        companion.hear(item, at)
        if at >= next_tick:
            companion.tick(at)
            next_tick = at + 0.002
        if index % 1000 == 0:
            peaks = {name: max(peaks[name], size) for name, size in sizes(companion).items()}
        if (index + 1) % tenth == 0:
            wall_per_tenth.append(time.perf_counter() - started)
            started = time.perf_counter()
    return start + seconds, wall_per_tenth, peaks


def test_a_flood_of_100k_messages_in_a_minute_keeps_memory_bounded_and_time_flat():
    companion, sink, _ = make()
    now, wall, peaks = flood(companion, 100_000, 60.0, random.Random(3))
    assert peaks["history"] <= MAX_HISTORY_NOTES
    assert peaks["held"] <= 128 and peaks["sustained"] <= 128
    # A note waits for the earlier held ones, at most the longest duration (8 beats): bounded by rate x 8 beats.
    note_ons_per_second = 100_000 * 5 / 14 / 60
    assert peaks["waiting"] <= note_ons_per_second * codec.DURATIONS[-1] / codec.TICKS_PER_BEAT * BEAT
    assert max(wall[-3:]) < 3 * max(min(wall[:3]), 0.05), f"wall seconds per 10k messages grew: {wall}"
    companion.hear(message("control_change", control=64, value=0), now)
    for pitch in list(companion.performance.held):
        companion.hear(message("note_off", note=pitch), now)
    assert_answer_on_the_beat(companion, sink, now)
    print(f"\nflood: 100k messages, {sum(wall):.1f} s wall; peaks {peaks}")


def test_a_lost_note_off_holds_the_phrase_open_until_the_keyboards_all_notes_off():
    companion, sink, _ = make()
    companion.hear(message("note_on", note=50, velocity=80), 1.0)  # its note-off never arrives
    now = play_call(companion, 1.5, G_MAJOR_CALL)
    now = run_until(companion, now, now + 4 * BEAT)
    assert companion.status != ANSWERING and companion.performance.held.keys() == {50}
    companion.hear(message("control_change", control=123, value=0), now)
    assert companion.performance.held == {}
    assert_answer_on_the_beat(companion, sink, now)


def test_a_flood_while_accompanying_keeps_memory_bounded_and_leaves_the_plan_short():
    companion, sink, _ = make(CompanionConfig(mode="accompany"))
    now, wall, peaks = flood(companion, 15_000, 10.0, random.Random(4))
    assert peaks["history"] <= MAX_HISTORY_NOTES and peaks["held"] <= 128
    assert companion.accompaniment.fork is not None, "it plays along through the flood"
    companion.tick(now)
    assert len(companion.performance.call) <= len(companion.performance.held) + len(companion.performance.sustained), "no call grows under a stream"
    lookahead = companion.config.lookahead_beats * codec.TICKS_PER_BEAT
    planned = companion.accompaniment.fork.planned
    assert all(p.onset <= companion.grid.tick_of(now) + lookahead + codec.TICKS_PER_BEAT for p in planned)
    assert max(wall[-3:]) < 3 * max(min(wall[:3]), 0.05), f"wall seconds per 1.5k messages grew: {wall}"
    companion.hear(message("control_change", control=123, value=0), now)
    companion.hear(message("control_change", control=64, value=0), now)
    run_until(companion, now, now + 5 * 4 * BEAT)
    assert companion.accompaniment.fork is None, "the accompaniment rests once the flood is over"
