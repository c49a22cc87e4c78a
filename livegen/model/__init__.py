"""The trained model at play time: presets, the numpy step runtime, sampling and offline generation."""
