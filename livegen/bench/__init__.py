"""``livegen bench``: the live path measured against the ways it replaces."""
