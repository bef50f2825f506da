"""Where the replay suite's fixture data lives (``fixtures/replay/`` of the repository)."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "replay"
