"""Loads the harness plugin for a checkout where the package is not installed.

An install registers it through the ``pytest11`` entry point; registering it twice is an error,
so it is only named here when that entry point is absent.
"""

from importlib.metadata import entry_points

pytest_plugins = [] if any(ep.name == "harness" for ep in entry_points(group="pytest11")) else [
    "harness.plugin"]
