"""cx-broker contracts."""
