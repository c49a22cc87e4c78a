#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages livegen's set-up, demo and tests use, when they are missing:
# python3-venv (the virtual environment), jackd2 (MIDI ports without a sound card, dummy driver),
# jack-midi-clock (a foreign MIDI clock source for tests), fluidsynth + fluid-soundfont-gm (to hear
# answers), sox (to measure rendered audio), iproute2 (`ip`: brings up lo in the network namespace
# every Ableton Link peer of the tests and the bench runs in). Other systems: prints what to install and goes on.
set -euo pipefail

missing=()
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v jackd >/dev/null || missing+=(jackd2)
command -v jack_midi_clock >/dev/null || missing+=(jack-midi-clock)
command -v fluidsynth >/dev/null || missing+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing+=(fluid-soundfont-gm)
command -v sox >/dev/null || missing+=(sox)
command -v ip >/dev/null || missing+=(iproute2)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "livegen: please install with your package manager: ${missing[*]} (JACK, fluidsynth, sox)" >&2
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "livegen: need root to install ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "livegen: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
