"""cx-broker producers."""
