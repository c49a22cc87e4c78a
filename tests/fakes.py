"""Fakes at the boundary, shared by every test: a clock, a sink, MIDI ports that keep what they are sent,
and an Ableton Link session."""


class FakeClock:
    """A clock that stands still until a test moves ``now`` (seconds)."""

    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


class FakeSink:
    """What the companion would send to the scheduler; fails at once on a note without a length or a cancelled tag going on."""

    def __init__(self):
        self.played = []  # (tag, TimedNote)
        self.cancelled = []
        self.sent = []  # (tag, deadline, message): clock and transport

    def play(self, notes, tag):
        assert tag not in self.cancelled, f"answer {tag} booked notes after it was cancelled"
        for note in notes:
            assert note.end > note.start, f"a note without a length: {note}"
        self.played.extend((tag, note) for note in notes)

    def cancel(self, tag):
        self.cancelled.append(tag)

    def retract(self, tag, not_before):
        taken = {note for t, note in self.played if t == tag and note.start >= not_before}
        self.played = [(t, note) for t, note in self.played if t != tag or note not in taken]
        return taken

    def send_at(self, timed_messages, tag):
        self.sent.extend((tag, at, message) for at, message in timed_messages)

    def notes(self, tag=None):
        return [n for t, n in self.played if tag is None or t == tag]


class FakePort:
    """An output port that keeps each message with the time its clock read when it was sent."""

    name = "fake"

    def __init__(self, clock=None):
        self.clock = clock or FakeClock()
        self.sent = []  # (time, message)

    def send(self, message):
        self.sent.append((self.clock.now, message))

    @property
    def messages(self):
        return [message for _, message in self.sent]


class QueuedPort:
    """An input port as rtmidi's queue shows it: (bytes, seconds since the message before), read on a fake clock."""

    name = "fake:in"

    def __init__(self, clock):
        self.clock = clock
        self.waiting = []

    def arrive(self, at, data):
        """A message that JACK took in at ``at``; rtmidi queues it with its delta time."""
        self.last = getattr(self, "last", at)
        self.waiting.append((list(data), at - self.last))
        self.last = at

    def get_message(self):
        self.clock.now += 0.00001  # each read takes 10 us
        return self.waiting.pop(0) if self.waiting else None


class FakeLinkBinding:
    """The part of LinkPython-extern's ``link`` module livegen uses, over one session timeline on ``clock``
    (Link's microseconds are the fake clock's seconds times a million): beat = (t - origin) * bpm / 60."""

    def __init__(self, clock, bpm=120.0, peers=1):
        self.clock_seconds = clock
        self.session = {"bpm": bpm, "origin": 0.0, "playing": False, "started_at": 0.0, "peers": peers}
        binding = self

        class Link:
            def __init__(self, bpm):
                self.enabled = False
                self.startStopSyncEnabled = False

            def captureAppSessionState(self):
                return FakeLinkState(dict(binding.session))

            def commitAppSessionState(self, state):
                binding.session.update(state.session)

            def clock(self):
                return type("Clock", (), {"micros": lambda _: round(binding.clock_seconds() * 1e6)})()

            def numPeers(self):
                return binding.session["peers"]

        self.Link = Link

    def set_tempo(self, bpm):
        """Another peer sets the tempo now: the beat goes on from where it is."""
        now, session = self.clock_seconds(), self.session
        beat = (now - session["origin"]) * session["bpm"] / 60.0
        session.update(bpm=bpm, origin=now - beat * 60.0 / bpm)

    def play(self, at):
        """Another peer starts the session at ``at``, beat 0 there."""
        self.session.update(playing=True, started_at=at, origin=at)


class FakeLinkState:
    def __init__(self, session):
        self.session = session

    def tempo(self):
        return self.session["bpm"]

    def setTempo(self, bpm, micros):
        beat = self.beatAtTime(micros, 1)
        self.session.update(bpm=bpm, origin=micros / 1e6 - beat * 60.0 / bpm)

    def beatAtTime(self, micros, quantum):
        return (micros / 1e6 - self.session["origin"]) * self.session["bpm"] / 60.0

    def isPlaying(self):
        return self.session["playing"]

    def timeForIsPlaying(self):
        return round(self.session["started_at"] * 1e6)


def sounding_after(messages):
    """Notes left sounding after a message list (a note_on not followed by its note_off or CC123)."""
    sounding = set()
    for message in messages:
        if message.type == "note_on" and message.velocity > 0:
            sounding.add((message.channel, message.note))
        elif message.type in ("note_off", "note_on"):
            sounding.discard((message.channel, message.note))
        elif message.type == "control_change" and message.control in (120, 123):
            sounding = {s for s in sounding if s[0] != message.channel}
    return sounding
