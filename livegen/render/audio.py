"""MIDI to audio with FluidSynth and a General MIDI soundfont, and the audio measured with sox."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # Debian's fluid-soundfont-gm
FLUIDSYNTH_GAIN = 0.2  # FluidSynth's own default
SAMPLE_RATE = 44100


def can_render() -> bool:
    """Whether FluidSynth and the soundfont are installed."""
    return shutil.which("fluidsynth") is not None and SOUNDFONT.is_file()


def can_measure() -> bool:
    """Whether sox is installed."""
    return shutil.which("sox") is not None


def render(midi_file: Path, wav_file: Path, gain: float = FLUIDSYNTH_GAIN) -> Path:
    """Render ``midi_file`` to ``wav_file`` (FluidSynth, offline, at 44.1 kHz)."""
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", str(gain), "-F", str(wav_file), "-r", str(SAMPLE_RATE),
                    str(SOUNDFONT), str(midi_file)], check=True, capture_output=True, timeout=120)
    return wav_file


def measure(wav_file: Path) -> dict[str, float]:
    """Length and loudness of a rendering as sox reports them: ``{"seconds", "rms", "peak"}``."""
    stat = subprocess.run(["sox", str(wav_file), "-n", "stat"], capture_output=True, text=True,
                          timeout=60).stderr
    values = dict(re.findall(r"^(.+?):\s+(-?[\d.]+)\s*$", stat, flags=re.MULTILINE))
    return {"seconds": float(values["Length (seconds)"]), "rms": float(values["RMS     amplitude"]),
            "peak": float(values["Maximum amplitude"])}
