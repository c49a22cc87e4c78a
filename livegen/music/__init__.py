"""Music as livegen hears it: the event codec, keys, and MIDI files (pure, no ports, no model)."""
