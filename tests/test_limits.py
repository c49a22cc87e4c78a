"""Each setting's range is written once: the config checks it, and every command's option refuses the same
values, with the same words and exit code, before anything is opened."""

import pytest
from click.testing import CliRunner

from livegen.cli import cli
from livegen.live.engine import CompanionConfig
from livegen.model.sampling import SamplingConfig

PRIME = "livegen/demo/phrases/call-d-minor.mid"
COMMANDS = {
    "play": ["play", "--virtual"],
    "generate": ["generate", "--preset", "chorale", "--prime", PRIME, "-o", "unused.mid"],
    "eval": ["eval", "--preset", "chorale"],
}


@pytest.mark.parametrize("option, value, commands, config, words", [
    ("--top-k", "240", ["generate"], lambda: SamplingConfig(top_k=240),
     "top-k must be between 0 (off) and 225, got 240"),
    ("--temperature", "7", ["play", "generate", "eval"], lambda: SamplingConfig(temperature=7),
     "temperature must be between 0 (always the likeliest) and 5, got 7"),
    ("--top-p", "0", ["play", "generate", "eval"], lambda: SamplingConfig(top_p=0),
     "top-p must be above 0 and at most 1, got 0"),
    ("--polyphony", "17", ["play", "generate"], lambda: SamplingConfig(max_polyphony=17),
     "polyphony cap must be between 1 and 16 notes, got 17"),
    ("--rest-bars", "0", ["play"], lambda: CompanionConfig(rest_bars=0),
     "accompany's rest must be after 1 to 16 bars of silence, got 0"),
    ("--out-channel", "17", ["play"], lambda: CompanionConfig(out_channel=16), "out channel must be 1 to 16, got 17"),
    ("--phrase-end", "20", ["play"], lambda: CompanionConfig(phrase_end_beats=20),
     "phrase end must be between 0.25 and 16 beats of silence, got 20"),
])
def test_an_out_of_range_value_is_refused_in_the_configs_own_words_by_every_command(option, value, commands, config,
                                                                                     words):
    with pytest.raises(ValueError) as refused:
        config()
    assert str(refused.value) == words
    for name in commands:
        result = CliRunner().invoke(cli, [*COMMANDS[name], option, value])
        assert result.exit_code == 2, (name, result.output)
        assert f"Invalid value for '{option}': {words}" in result.output, (name, result.output)
