"""Learning the player during the session: their tokens counted as they go into the model state, and
the blend each sampled token mixes in (see :mod:`livegen.model.session_model`).

Learning happens where the player's notes are fed to the state, never on the sampling path; a
sampled token only looks its context up. Forks carry their own context, the main state's plus
what the fork has heard since.
"""

from __future__ import annotations

from livegen.model.session_model import Context, SessionModel, check_adapt, extended_by, extended_by_all
from livegen.model.sampling import Blend


class Adaptation:
    """The session model, how much of it goes into the answer (``adapt``), and the main state's context."""

    def __init__(self, adapt: float, memory: SessionModel | None = None) -> None:
        self.adapt = check_adapt(adapt)
        self.model = memory if memory is not None else SessionModel()
        self._remembered = list(self.model.entries())  # what the session began with: a transport restart goes back to it
        self.context: Context = ()

    def set_adapt(self, adapt: float) -> None:
        """The adapt knob: from the next token sampled."""
        self.adapt = check_adapt(adapt)

    def heard(self, tokens, by_player: bool) -> None:
        """Tokens that went into the main state; the player's are learned."""
        learn, context = self.model.learn, self.context
        for token in tokens:
            if by_player:
                learn(context, token)
            context = extended_by(context, token)
        self.context = context

    def reprimed(self, tokens) -> None:
        """The main state was rebuilt from ``tokens``: its context is theirs (nothing is learned twice)."""
        self.context = extended_by_all((), tokens)

    def branch(self, tokens) -> Context:
        """The context of a fork of the main state that has also heard ``tokens``."""
        return extended_by_all(self.context, tokens)

    def blend(self, context: Context, bar_token: int) -> Blend | None:
        """What the sampler mixes in after ``context``; None at adapt 0 or in a context never heard."""
        if self.adapt <= 0.0:
            return None
        return self.model.blend(context, self.adapt, bar_token)

    def forget(self) -> None:
        """The forget control: everything learned, and what the session began with, is gone."""
        self.model.forget()
        self._remembered = []

    def restart(self) -> None:
        """The transport started again: back to what the session began with."""
        self.model.load(self._remembered)
