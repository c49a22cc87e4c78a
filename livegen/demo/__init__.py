"""``livegen demo``: a bundled call played through real ports into the live companion."""
