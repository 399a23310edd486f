"""cx-broker broker."""
