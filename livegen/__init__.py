"""livegen: a real-time MIDI performance companion driven by a stateful LSTM."""

__version__ = "0.1.0"
