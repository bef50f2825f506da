"""Where the replay suite's fixture data lives (package data: ``harness/data/replay/``)."""

from harness import data as harness_data

FIXTURES = harness_data.path("replay")
