"""How a preset hears notes: one rule for the key, the move, unisons and the bar token."""

import pytest

from livegen.music import codec
from livegen.music.hearing import hear, hearing
from livegen.music.key import Key
from tests.helpers import phrase


@pytest.mark.parametrize("key_mode, tonic, minor, key, bar", [
    ("canonical+mode", 62, True, Key(2, "minor"), codec.BAR_MINOR),
    ("canonical", 62, True, Key(2, "minor"), codec.BAR),
    ("canonical+mode", 67, False, Key(7, "major"), codec.BAR),
    ("as-is", 62, True, None, codec.BAR),
])
def test_a_preset_hears_a_call_moved_to_its_key_with_its_own_bar_token(key_mode, tonic, minor, key, bar):
    call = phrase(tonic_pitch=tonic, minor=minor, bars=3)
    heard = hear(key_mode, call, codec.Meter())
    shift = key.to_canonical() if key is not None else 0
    assert heard.hearing == hearing(key_mode, call)
    assert (heard.hearing.key, heard.hearing.shift, heard.hearing.bar_token) == (key, shift, bar)
    assert heard.notes == codec.transpose(call, shift)
    assert heard.tokens == codec.encode(heard.notes, codec.Meter(), bar_token=bar)
    assert (heard.cursor.bar, heard.cursor.bar_token) == (2, bar)


@pytest.mark.parametrize("key_mode", ["canonical", "as-is"])
def test_unisons_merge_to_the_longest_in_every_key_mode(key_mode):
    notes = phrase(bars=1) + [codec.Note(0, 60, 30, 40)]
    heard = hearing(key_mode, notes)
    assert heard.notes(notes) == codec.transpose(codec.merge_unisons(notes), heard.shift)
    assert codec.Note(0, 60 + heard.shift, 30, 40) in heard.notes(notes)


def test_augmenting_moves_the_heard_notes_further():
    notes = phrase(tonic_pitch=67, bars=2)
    heard = hearing("canonical", notes)
    assert heard.notes(notes, 2) == codec.transpose(heard.notes(notes), 2)
    assert heard.encode(notes, codec.Meter(), -1) == codec.encode(codec.transpose(heard.notes(notes), -1))


def test_rebase_counts_notes_from_a_later_bar_line_and_refuses_notes_before_it():
    notes = [codec.Note(48, 60, 90, 12), codec.Note(60, 64, 90, 24)]
    assert codec.rebase(notes, 48) == [codec.Note(0, 60, 90, 12), codec.Note(12, 64, 90, 24)]
    assert codec.rebase(codec.rebase(notes, 48), -48) == notes
    with pytest.raises(ValueError, match="onset"):
        codec.rebase(notes, 49)
