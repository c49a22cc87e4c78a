"""The bundled presets (weights, model cards, held-out calls): data only.

This top-level folder is installed as ``livegen.presets`` (``package-dir`` in pyproject.toml), so
the repository keeps the design card's ``presets/`` and the wheel carries the one copy inside
livegen. :func:`livegen.model.preset.bundled_dir` finds it through the import system, which works
the same from a wheel and from an editable install.
"""
