"""``python -m testplan``: the same as the ``testplan`` command."""

from .cli import run

run()
