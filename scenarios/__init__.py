"""The scenario suites, one folder per scenario family; they use ``harness`` and the target adapter."""
