"""The one error of MIDI file handling: a file that cannot be used, and why."""

from livegen.errors import LivegenError


class MidiFileError(LivegenError, ValueError):
    """A music file that cannot be used, with the reason in a musician's words."""
