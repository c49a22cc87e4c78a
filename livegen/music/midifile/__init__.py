"""Standard MIDI files to notes on the codec's tick grid and back. Uses mido only (live-safe).

The front door of MIDI file handling: reading (:mod:`.reading`, after the byte checks of
:mod:`.checks` and the note pairing of :mod:`.collector`) gives a :class:`.piece.Piece` or a
:class:`.errors.MidiFileError`; :mod:`.writing` writes notes back; :mod:`.time_signature` maps
time signatures to bar lengths both ways.
"""

from .checks import MAX_FILE_BYTES
from .errors import MidiFileError
from .piece import MAX_BARS, Piece, assemble_piece
from .reading import DEFAULT_TEMPO_BPM, MAX_DELTA_TICKS, read_midi
from .time_signature import time_signature_of, time_signature_ticks
from .writing import save_atomically, write_midi
