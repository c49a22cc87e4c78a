"""``livegen play --adapt`` and ``--session-memory`` refuse what cannot work before any port is opened."""

import pytest
from click.testing import CliRunner

from livegen.cli import cli


@pytest.mark.parametrize("value, message", [("1.5", "must be between 0 and 1, got 1.5"),
                                            ("lots", "'lots' is not a number between 0 and 1")])
def test_an_adapt_outside_0_to_1_is_refused_in_words(value, message):
    result = CliRunner().invoke(cli, ["play", "--virtual", "--adapt", value])
    assert result.exit_code == 2
    assert "Invalid value for '--adapt'" in result.output and message in result.output


def test_a_session_memory_in_a_folder_that_does_not_exist_is_refused_before_the_session(tmp_path):
    missing = tmp_path / "nowhere" / "me.json"
    result = CliRunner().invoke(cli, ["play", "--virtual", "--session-memory", str(missing)])
    assert result.exit_code == 2
    assert "--session-memory" in result.output and "there is no folder" in result.output


def test_the_knobs_list_names_adapt_and_forget():
    result = CliRunner().invoke(cli, ["play", "--virtual", "--knob", "nothing=21"])
    assert result.exit_code == 2
    assert "adapt" in result.output and "forget" in result.output
