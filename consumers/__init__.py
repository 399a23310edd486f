"""cx-broker consumers."""
