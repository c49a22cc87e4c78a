"""Training: MIDI folders to token streams, Keras LSTM training, preset export (needs the [train] extra)."""
