"""``python -m cxbroker`` is the ``cxbroker`` CLI."""

from cxbroker.cli import main

main()
