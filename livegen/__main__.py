"""``python -m livegen``: the same as the ``livegen`` command."""

from livegen.cli.main import main

main()
