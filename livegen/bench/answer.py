"""An answer over real JACK ports: when its first note sounds against the beat it belongs on."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import mido
import numpy as np

from livegen.music import codec

from livegen.bench.measure import percentiles_ms
from livegen.live.engine import CompanionConfig
from livegen.model.sampling import SamplingConfig

PLAYER_CHANNEL = 15


def bench_answer_on_jack(weights: dict, phrases: int) -> dict:
    """Phrase end -> first answer note as a foreign JACK client hears it, against the beat it belongs on.

    A player port plays a two-bar call into ``livegen:in``; an ear port hears the player's notes
    (the downbeat, on the same path livegen hears them) and the answer.
    """
    from livegen.live import ports
    from livegen.live.keyboard import call_events, play_into
    from livegen.live.listener import Listener
    from livegen.music.midifile import Piece
    from livegen.model.preset import Preset
    from livegen.live.session import PortsConfig, Session, SessionConfig

    try:
        ports.select_backend("jack")
    except ports.PortError as error:
        return {"skipped": f"no JACK server: {error}"}
    bpm, beat = 120.0, 0.5
    call = Piece(tuple(codec.Note(i * 12, (67, 71, 74, 71, 72, 69, 66, 67)[i], 90, 9) for i in range(8)),
                 codec.Meter(), bpm)
    config = {"name": "bench", "key_mode": "canonical"}
    deviations, waits = [], []
    for phrase in range(phrases):
        heard: list[tuple[float, mido.Message]] = []
        session = Session((Preset(Path("."), config, weights),), CompanionConfig(bpm=bpm, answer_bars=1),
                          SamplingConfig(), PortsConfig(virtual=True), SessionConfig(seed=phrase), log=lambda text: None)
        session.open()
        ear = ports.open_input(f"ear-{os.getpid()}", virtual=True, client_name=f"livegen-bench-ear-{os.getpid()}")
        ear_reader = Listener(ear, lambda at, message: heard.append((at, message)))  # polled: a callback can drop
        ear_reader.start()
        player = ports.open_output(f"player-{os.getpid()}", virtual=True)
        try:
            for source in (player.name, session.output_ports[0].name):
                subprocess.run(["jack_connect", source, f"livegen-bench-ear-{os.getpid()}:ear-{os.getpid()}"],
                               check=True, capture_output=True)
            subprocess.run(["jack_connect", player.name, session.input_port.name], check=True, capture_output=True)
            time.sleep(0.3)
            events = [(at, message.copy(channel=PLAYER_CHANNEL))
                      for at, message in call_events(call, bpm, time.perf_counter() + 0.1)]
            play_into(player, events, threading.Event())
            time.sleep(2 * beat + 4 * beat + 0.3)
        finally:
            session.request_stop("bench")
            session.close()
            player.close()
            ear_reader.stop()
            ear.close()
        own = [(t, m) for t, m in heard if m.channel == PLAYER_CHANNEL]
        answer = [t for t, m in heard if m.channel != PLAYER_CHANNEL and m.type == "note_on" and m.velocity > 0]
        if not own or not answer:
            continue
        offs = [t for t, m in own if m.type == "note_off"]
        own = [t for t, m in own if m.type == "note_on"]
        phrase_end = offs[-1] + beat
        on_beat = own[0] + np.ceil((phrase_end - own[0]) / beat) * beat
        deviations.append(answer[0] - on_beat)
        waits.append(answer[0] - phrase_end)
    if not deviations:
        return {"skipped": "no answer was heard"}
    return {"phrases": len(deviations), "deviation_from_beat": percentiles_ms(np.abs(deviations)),
            "phrase_end_to_first_note": percentiles_ms(waits)}
