"""harness gate compares with the gate's previous packet by default: the load and relevance
baseline variables point at it when it exists, an explicit variable wins, --no-baseline clears."""

from __future__ import annotations

import os

from harness.cli import _previous_packets_as_baselines


def test_the_previous_packet_of_the_gate_is_the_default_baseline(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_LOAD_BASELINE", raising=False)
    monkeypatch.delenv("HARNESS_RETRIEVAL_BASELINE", raising=False)
    (tmp_path / "S11").mkdir()
    (tmp_path / "S11" / "packet.json").write_text("{}")
    _previous_packets_as_baselines(tmp_path, ("S07", "S11"), skip=False)
    assert os.environ["HARNESS_LOAD_BASELINE"] == str((tmp_path / "S11").resolve())
    assert "HARNESS_RETRIEVAL_BASELINE" not in os.environ      # no previous S07 packet
    _previous_packets_as_baselines(tmp_path, ("S07", "S11"), skip=True)
    assert "HARNESS_LOAD_BASELINE" not in os.environ


def test_an_explicit_baseline_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_BASELINE", "/somewhere/else")
    (tmp_path / "S11").mkdir()
    (tmp_path / "S11" / "packet.json").write_text("{}")
    _previous_packets_as_baselines(tmp_path, ("S11",), skip=False)

    assert os.environ["HARNESS_LOAD_BASELINE"] == "/somewhere/else"
