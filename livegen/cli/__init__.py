"""The ``livegen`` command: turns options into configs and errors into messages and exit codes."""
