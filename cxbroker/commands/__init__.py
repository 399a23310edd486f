"""Sub-commands of the ``cxbroker`` CLI, one module per command group."""
