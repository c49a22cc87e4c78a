"""The live step model: a stacked LSTM in float32 numpy, stepped one token at a time.

Its weights come from the Keras model the trainer builds (gate order i, f, c, o; sigmoid gates,
tanh cell), and a test proves both give the same logits. The first layer's input projection is
folded into a table (one row per token), so a step is one row lookup plus one matrix-vector
product per layer into preallocated buffers. Priming many tokens at once (``feed``) runs layer
by layer instead: each upper layer's input projection becomes one matrix-matrix product over
the whole sequence, and the output layer runs once, for the last token.

A preset that hears voices (:mod:`livegen.music.voices`) has a second table, folded the same
way: a step adds the rows of the voices it is given (at most ``voices.WIDTH``) to its gates.
"""

from __future__ import annotations

import numpy as np

from livegen.music import voices as voice_rows


class LSTMState:
    """Hidden and cell vectors of every layer and the logits they give; copy it to fork."""

    __slots__ = ("hidden", "cell", "logits")

    def __init__(self, hidden: list[np.ndarray], cell: list[np.ndarray], logits: np.ndarray) -> None:
        self.hidden = hidden
        self.cell = cell
        self.logits = logits

    def copy(self) -> LSTMState:
        return LSTMState([h.copy() for h in self.hidden], [c.copy() for c in self.cell], self.logits.copy())

    def load(self, other: LSTMState) -> None:
        """Take ``other``'s values in place (no allocation)."""
        for mine, theirs in zip(self.hidden + self.cell + [self.logits], other.hidden + other.cell + [other.logits]):
            mine[...] = theirs


def _sigmoid_first(matrix: np.ndarray) -> np.ndarray:
    """Gate columns from Keras' order (i, f, c, o) to (i, f, o, c), the sigmoid gates halved.

    sigmoid(x) = 0.5 * tanh(x / 2) + 0.5, so with the sigmoid gates' weights and bias halved
    (exact in binary floating point) one tanh over all four gates serves every gate. The
    result is float32 and contiguous.
    """
    input_gate, forget_gate, candidate, output_gate = np.split(np.asarray(matrix, dtype=np.float32), 4, axis=-1)
    return np.ascontiguousarray(np.concatenate([input_gate * 0.5, forget_gate * 0.5, output_gate * 0.5, candidate],
                                               axis=-1))


class StepModel:
    """Stateful LSTM language model over the codec's tokens."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        embedding = np.asarray(weights["embedding"], dtype=np.float32)
        self.layers = sum(1 for name in weights if name.endswith("_recurrent"))
        if self.layers == 0:
            raise ValueError("weights hold no LSTM layer (no 'lstm0_recurrent' array)")
        self.vocab_size = embedding.shape[0]
        self.hidden_size = size = weights["lstm0_recurrent"].shape[0]
        # Token -> first layer's input gates, bias included: a lookup instead of a matmul.
        self._input_table = np.ascontiguousarray(
            embedding @ _sigmoid_first(weights["lstm0_kernel"]) + _sigmoid_first(weights["lstm0_bias"]))
        self._recurrent0 = _sigmoid_first(weights["lstm0_recurrent"])
        # Voice row -> its share of the first layer's input gates (no bias: the token's row has it).
        self.hears_voices = "voices" in weights
        if self.hears_voices:
            table = np.asarray(weights["voices"], dtype=np.float32) @ _sigmoid_first(weights["lstm0_kernel"])
            padding = np.zeros((1, table.shape[1]), dtype=np.float32)  # voices.PAD adds nothing
            self._voices_table = np.ascontiguousarray(np.concatenate([table, padding]))
            self._voice_sum = np.empty(table.shape[1], dtype=np.float32)
        # Upper layers: [input; hidden] stacked so one matmul serves a step; its two row blocks
        # are the input kernel and the recurrent kernel that ``feed`` uses apart.
        self._stacked = []
        self._biases = []
        for layer in range(1, self.layers):
            stacked = np.concatenate(
                [weights[f"lstm{layer}_kernel"], weights[f"lstm{layer}_recurrent"]], axis=0
            )
            self._stacked.append(_sigmoid_first(stacked))
            self._biases.append(_sigmoid_first(weights[f"lstm{layer}_bias"]))
        self._dense = np.ascontiguousarray(weights["dense_kernel"], dtype=np.float32)
        self._dense_bias = np.asarray(weights["dense_bias"], dtype=np.float32)
        self._gates = gates = np.empty(4 * size, dtype=np.float32)
        # Views of the gate buffer, made once: a step then slices nothing.
        self._sigmoid_gates = gates[:3 * size]
        self._input_gate = gates[:size]
        self._forget_gate = gates[size:2 * size]
        self._output_gate = gates[2 * size:3 * size]
        self._candidate = gates[3 * size:]
        self._joined = np.empty(2 * size, dtype=np.float32)
        self._scratch = np.empty(size, dtype=np.float32)

    def initial_state(self) -> LSTMState:
        zeros = [np.zeros(self.hidden_size, dtype=np.float32) for _ in range(self.layers)]
        state = LSTMState(zeros, [z.copy() for z in zeros], np.empty(self.vocab_size, dtype=np.float32))
        self._output(state)
        return state

    def _check(self, token: int) -> None:
        if not 0 <= token < self.vocab_size:
            raise ValueError(f"token {token} is outside the model's vocabulary 0..{self.vocab_size - 1}")

    def step(self, token: int, state: LSTMState, voices=()) -> np.ndarray:
        """Feed one token (and, to a model that hears them, the voices after it: row numbers,
        ``voices.PAD`` allowed), update ``state`` in place, return the next-token logits (``state.logits``)."""
        self._check(token)
        gates = self._gates
        np.dot(state.hidden[0], self._recurrent0, out=gates)
        gates += self._input_table[token]
        if self.hears_voices and len(voices):
            np.add.reduce(self._voices_table[np.asarray(voices, dtype=np.intp)], axis=0, out=self._voice_sum)
            gates += self._voice_sum
        self._cell_update(state.cell[0], state.hidden[0])
        size = self.hidden_size
        for layer in range(1, self.layers):
            self._joined[:size] = state.hidden[layer - 1]
            self._joined[size:] = state.hidden[layer]
            np.dot(self._joined, self._stacked[layer - 1], out=gates)
            gates += self._biases[layer - 1]
            self._cell_update(state.cell[layer], state.hidden[layer])
        return self._output(state)

    def _voices_of(self, voices, count: int) -> np.ndarray:
        """The voices' share of every step's input gates: their rows gathered and summed (the padding row is zero).

        A gather beats a multi-hot matrix product here at every length a live feed has (1 token:
        6 against 14 us; 3: 12 against 86; 64: 316 against 323).
        """
        if voices is None:
            raise ValueError("this model hears voices: feed it the voices of its tokens (livegen.music.voices.read)")
        voices = np.asarray(voices)
        if voices.shape != (count, voice_rows.WIDTH):
            raise ValueError(f"voices must be one row of {voice_rows.WIDTH} a token, got shape {voices.shape} "
                             f"for {count} tokens")
        return self._voices_table[voices].sum(axis=1)

    def voices_after(self, cursor) -> tuple[int, ...]:
        """What this model hears besides the token ``cursor`` has just read (nothing, if it hears no voices)."""
        return voice_rows.voices(cursor) if self.hears_voices else ()

    def _output(self, state: LSTMState) -> np.ndarray:
        np.dot(state.hidden[-1], self._dense, out=state.logits)
        state.logits += self._dense_bias
        return state.logits

    def _cell_update(self, cell: np.ndarray, hidden: np.ndarray) -> None:
        """From the gates' pre-activations in ``self._gates``: update ``cell``, write ``hidden``."""
        np.tanh(self._gates, out=self._gates)
        self._sigmoid_gates *= 0.5
        self._sigmoid_gates += 0.5
        cell *= self._forget_gate
        self._candidate *= self._input_gate
        cell += self._candidate
        np.tanh(cell, out=self._scratch)
        np.multiply(self._scratch, self._output_gate, out=hidden)

    def feed(self, tokens, state: LSTMState, voices=None) -> np.ndarray:
        """Step through ``tokens`` layer by layer; return the logits after the last one.

        ``voices``: what :func:`livegen.music.voices.read` gives for the tokens, one row of
        voices each; a model that hears voices needs it.
        """
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.size == 0:
            return state.logits
        if tokens.min() < 0 or tokens.max() >= self.vocab_size:
            self._check(int(tokens[(tokens < 0) | (tokens >= self.vocab_size)][0]))
        size = self.hidden_size
        projected = self._input_table[tokens]  # every step's input gates, bias included
        if self.hears_voices:
            projected += self._voices_of(voices, tokens.size)
        recurrent = self._recurrent0
        gates = self._gates
        for layer in range(self.layers):
            outputs = np.empty((tokens.size, size), dtype=np.float32)
            cell = state.cell[layer]
            hidden = state.hidden[layer]
            for inputs, output in zip(projected, outputs):
                np.dot(hidden, recurrent, out=gates)
                gates += inputs
                self._cell_update(cell, output)
                hidden = output  # each step's hidden is written straight into the layer's outputs
            state.hidden[layer][...] = hidden
            if layer + 1 < self.layers:
                stacked = self._stacked[layer]
                projected = outputs @ stacked[:size] + self._biases[layer]
                recurrent = stacked[size:]
        return self._output(state)

    def warm_up(self, steps: int = 64) -> None:
        """Touch every buffer and code path once so the first live step is not the slowest."""
        state = self.initial_state()
        heard = (0, voice_rows.PITCHES)  # a voice of each kind: the voices' path is touched too
        for index in range(steps):
            self.step(index % self.vocab_size, state, heard)
        rows = np.full((steps, voice_rows.WIDTH), voice_rows.PAD, dtype=np.uint8)
        rows[:, :2] = heard
        self.feed(np.arange(steps) % self.vocab_size, state, rows)
