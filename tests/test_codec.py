"""The codec: round trips, grammar, and errors that name the bad value."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livegen.music import codec
from livegen.music.codec import Meter, Note


def notes_strategy(max_tick=400):
    note = st.builds(
        Note,
        onset=st.integers(0, max_tick),
        pitch=st.integers(codec.PITCH_LOW, codec.PITCH_HIGH),
        velocity=st.integers(1, 127),
        duration=st.integers(1, 200),
    )
    return st.lists(note, max_size=40).map(codec.merge_unisons)


meters = st.one_of(
    st.just(Meter()),
    st.integers(1, 96).map(lambda ticks: Meter(((0, ticks),))),
    st.tuples(st.integers(1, 96), st.integers(1, 300), st.integers(1, 96)).map(
        lambda t: Meter(((0, t[0]), (t[1], t[2])))
    ),
)


@settings(max_examples=300, deadline=None)
@given(notes_strategy(), meters)
def test_decode_of_encode_is_the_quantized_piece(notes, meter):
    tokens = codec.encode(notes, meter)
    assert codec.decode(tokens, meter) == [codec.quantize(n) for n in notes]


@settings(max_examples=200, deadline=None)
@given(notes_strategy(), meters)
def test_every_bar_is_opened_and_positions_stay_inside_it(notes, meter):
    tokens = codec.encode(notes, meter)
    bars = tokens.count(codec.BAR)
    last_bar = max((meter.locate(n.onset)[0] for n in notes), default=0)
    assert bars == last_bar + 1
    cursor = codec.Cursor(meter)
    for token in tokens:
        cursor.advance(token)
        if codec.POSITION_BASE <= token < codec.PITCH_BASE:
            assert token - codec.POSITION_BASE < meter.bar_ticks(cursor.bar)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 500), max_size=30), st.integers(0, 300), st.integers(1, 96),
       st.integers(1, 96))
def test_meter_locate_and_bar_start_agree(ticks, change_at, first, second):
    meter = Meter(((0, first), (change_at + 1, second)))
    for tick in ticks:
        bar, position = meter.locate(tick)
        assert meter.bar_start(bar) + position == tick
        assert 0 <= position < meter.bar_ticks(bar)


def test_a_chord_is_one_position_then_rising_pitches():
    chord = [Note(12, 67, 80, 12), Note(12, 60, 80, 12), Note(12, 64, 80, 12)]
    tokens = codec.encode(chord)
    words = [codec.describe(t) for t in tokens]
    assert words == [
        "BAR", "POSITION(12)",
        "PITCH(60)", "VELOCITY(9)", "DURATION(12)",
        "PITCH(64)", "VELOCITY(9)", "DURATION(12)",
        "PITCH(67)", "VELOCITY(9)", "DURATION(12)",
    ]


def test_empty_bars_are_kept_and_trailing_bars_added():
    tokens = codec.encode([Note(100, 60, 64, 6)], Meter(), bars=4)
    assert [codec.describe(t) for t in tokens][:3] == ["BAR", "BAR", "BAR"]
    assert tokens.count(codec.BAR) == 4
    assert codec.encode([]) == [codec.BAR]


def test_durations_snap_to_the_nearest_grid_value_and_cap_at_eight_beats():
    assert codec.quantize_duration(13) == 12
    assert codec.quantize_duration(14) == 15
    assert codec.quantize_duration(80) == 72
    assert codec.quantize_duration(1000) == 96


def test_velocity_bins_cover_1_to_127_monotonically():
    bins = [codec.velocity_bin(v) for v in range(1, 128)]
    assert bins[0] == 0 and bins[-1] == codec.VELOCITY_BINS - 1
    assert all(b2 - b1 in (0, 1) for b1, b2 in zip(bins, bins[1:]))
    for b in range(codec.VELOCITY_BINS):
        assert codec.velocity_bin(codec.bin_velocity(b)) == b


@pytest.mark.parametrize("make, words", [
    (lambda: Note(0, 200, 64, 1), "pitch must be in 0..127, got 200"),
    (lambda: Note(0, 60, 0, 1), "velocity must be in 1..127, got 0"),
    (lambda: Note(-3, 60, 64, 1), "onset must be >= 0 ticks, got -3"),
    (lambda: Note(0, 60, 64, 0), "duration must be >= 1 tick, got 0"),
    (lambda: codec.encode([Note(0, 110, 64, 4)]), "pitch 110 is outside the piano range 21..108"),
    (lambda: Meter(((0, 120),)), "at most 8 beats), got 120"),
    (lambda: Meter(((5, 48),)), "must start at tick 0"),
    (lambda: codec.describe(9999), "token 9999 is outside the vocabulary"),
])
def test_impossible_values_raise_naming_them(make, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        make()


@pytest.mark.parametrize("tokens, words", [
    ([codec.POSITION_BASE], "POSITION(0) cannot follow in state start"),
    ([codec.BAR, codec.PITCH_BASE], "PITCH(21) cannot follow in state after-bar"),
    ([codec.BAR, codec.POSITION_BASE + 50], "POSITION(50) lies beyond the bar of 48 ticks"),
    ([codec.BAR, codec.POSITION_BASE + 4, codec.PITCH_BASE + 40, codec.VELOCITY_BASE,
      codec.DURATION_BASE, codec.POSITION_BASE + 2], "POSITION(2) does not come after position 4"),
    ([codec.BAR, codec.POSITION_BASE, codec.PITCH_BASE + 40, codec.VELOCITY_BASE,
      codec.DURATION_BASE, codec.PITCH_BASE + 39], "PITCH(60) does not rise above PITCH(61)"),
    ([codec.BAR, codec.PAD], "token 0 cannot be read here: PAD"),
])
def test_decode_names_the_first_token_out_of_grammar(tokens, words):
    with pytest.raises(ValueError) as raised:
        codec.decode(tokens)
    assert words in str(raised.value)


def test_writer_refuses_notes_out_of_onset_order():
    writer = codec.Writer()
    writer.note(Note(60, 64, 70, 6))
    with pytest.raises(ValueError, match="arrives after bar 1 began"):
        writer.note(Note(10, 60, 70, 6))


def test_writer_streams_the_same_tokens_as_encode():
    notes = [Note(0, 60, 70, 12), Note(0, 64, 70, 12), Note(30, 62, 50, 6), Note(150, 67, 90, 48)]
    writer = codec.Writer()
    streamed = [token for note in notes for token in writer.note(note)]
    assert streamed == codec.encode(notes)


def test_cursor_tracks_sounding_notes_for_the_polyphony_cap():
    cursor = codec.Cursor()
    for token in codec.encode([Note(0, 60, 70, 24), Note(0, 64, 70, 6), Note(12, 67, 70, 6)]):
        cursor.advance(token)
    assert sorted(cursor.sounding_pitches()) == [60, 67]


def test_transpose_keeps_notes_on_the_piano_and_merge_unisons_keeps_the_longest():
    moved = codec.transpose([Note(0, 105, 64, 4), Note(0, 22, 64, 4)], 5)
    assert [n.pitch for n in moved] == [98, 27]
    merged = codec.merge_unisons([Note(0, 60, 64, 4), Note(0, 60, 90, 9), Note(3, 60, 64, 2)])
    assert merged == [Note(0, 60, 90, 9), Note(3, 60, 64, 2)]


@settings(max_examples=200, deadline=None)
@given(notes_strategy(max_tick=800), st.integers(4, 120))
def test_tail_is_the_streams_end_cut_on_a_bar_or_onset(notes, budget):
    tokens = codec.encode(notes)
    cut = codec.tail(tokens, budget)
    if len(tokens) <= budget:
        assert cut == tokens
        return
    verbatim = cut == tokens[-len(cut):]
    kept = cut if verbatim else cut[1:]
    assert cut[0] == codec.BAR and tokens[-len(kept):] == kept
    assert codec.POSITION_BASE <= kept[0] < codec.PITCH_BASE or verbatim
    left_out = tokens[:-len(kept)]
    # Over budget only when one onset alone holds more: then the cut is that onset.
    if len(cut) > budget:
        assert codec.BAR not in cut[1:]
        assert sum(codec.POSITION_BASE <= token < codec.PITCH_BASE for token in cut) == 1
    # No longer cut on a bar or onset fits the budget.
    for index, token in enumerate(tokens[1:], start=1):
        if token == codec.BAR or codec.POSITION_BASE <= token < codec.PITCH_BASE:
            length = len(tokens) - index + (token != codec.BAR)
            assert length <= len(cut) or length > budget
    # Read alone, the tail gives the stream's last notes, moved back by the bars left out.
    first_bar = left_out.count(codec.BAR) - (0 if verbatim else 1)
    shift = first_bar * Meter().bar_ticks(0)
    tail_notes = codec.decode(cut)
    all_notes = codec.decode(tokens)
    assert tail_notes == [Note(n.onset - shift, n.pitch, n.velocity, n.duration)
                          for n in all_notes[len(all_notes) - len(tail_notes):]]


@settings(max_examples=200, deadline=None)
@given(notes_strategy(max_tick=800), meters, st.integers(4, 120))
def test_a_minor_stream_differs_only_in_its_bar_tokens_and_keeps_them_when_cut(notes, meter, budget):
    plain = codec.encode(notes, meter)
    minor = codec.encode(notes, meter, bar_token=codec.BAR_MINOR)
    assert minor == [codec.BAR_MINOR if token == codec.BAR else token for token in plain]
    assert codec.decode(minor, meter) == codec.decode(plain, meter)
    cut = codec.tail(minor, budget)
    assert cut[0] == codec.BAR_MINOR and codec.BAR not in cut
    assert [codec.BAR if token == codec.BAR_MINOR else token for token in cut] == codec.tail(plain, budget)


def test_the_modal_vocabulary_adds_one_minor_bar_and_says_so():
    plain, modal = codec.vocabulary_spec(), codec.vocabulary_spec(modal=True)
    assert modal["size"] == plain["size"] + 1 == codec.MODAL_VOCAB_SIZE
    assert codec.BAR_MINOR == plain["size"] and modal["name"] != plain["name"]
    assert codec.describe(codec.BAR_MINOR) == "BAR(minor)"
    with pytest.raises(ValueError, match="a bar opens with BAR or BAR_MINOR, not POSITION"):
        codec.Cursor(bar_token=codec.POSITION_BASE)
