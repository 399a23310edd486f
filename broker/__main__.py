"""``python -m broker`` is the ``cxbroker`` CLI."""

from broker.cli import main

main()
