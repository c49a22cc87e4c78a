"""How answers measure against real continuations, and the Markov baseline (numpy only)."""
