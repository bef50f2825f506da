"""Adapter skeletons: every method of the named capability Protocols, typed and documented, each
raising Unsupported until the user implements it."""

from __future__ import annotations

import importlib.util
import inspect
import sys

import pytest

from harness.capabilities import missing_methods
from harness.cli import main
from harness.onboarding.protocols import UNSUPPORTED, adapter_protocols
from harness.onboarding.skeleton import render_skeleton, resolve_capabilities


def _load(path):
    spec = importlib.util.spec_from_file_location(f"skeleton_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_skeleton_of_every_capability_satisfies_every_protocol(tmp_path):
    names = ",".join([*adapter_protocols(), "tenants"])
    path = tmp_path / "adapter.py"
    path.write_text(render_skeleton(resolve_capabilities(names)))
    adapter = _load(path).Adapter(None)
    for capability, protocol in adapter_protocols().items():
        assert missing_methods(adapter, protocol) == [], capability
    assert callable(adapter.create_tenant)


@pytest.mark.parametrize("capability", sorted(adapter_protocols()))
def test_each_method_keeps_the_protocol_signature_and_docstring_and_raises_unsupported(tmp_path, capability):
    protocol = adapter_protocols()[capability]
    path = tmp_path / "adapter.py"
    path.write_text(render_skeleton({capability: protocol}))
    module = _load(path)
    adapter = module.Adapter(None)
    assert module.Unsupported is UNSUPPORTED
    for name, value in vars(protocol).items():
        if name.startswith("_") or not callable(value):
            continue
        ours, theirs = inspect.signature(getattr(module.Adapter, name)), inspect.signature(value)
        assert list(ours.parameters) == list(theirs.parameters), name
        assert [str(p.annotation) for p in ours.parameters.values()] == \
            [str(p.annotation) for p in theirs.parameters.values()], name
        if inspect.getdoc(value):
            assert inspect.getdoc(getattr(module.Adapter, name)) == inspect.getdoc(value)
        args = [None] * (len(ours.parameters) - 1 - sum(
            p.default is not p.empty or p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD, p.VAR_POSITIONAL)
            for p in ours.parameters.values()))
        with pytest.raises(UNSUPPORTED, match=f"{capability}: {name} is not implemented"):
            getattr(adapter, name)(*args)


def test_init_adapter_writes_the_module_and_never_replaces_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--adapter", "events,entitlements"]) == 0
    assert "wrote adapter.py" in capsys.readouterr().out
    text = (tmp_path / "adapter.py").read_text()
    assert "def publish_event(" in text and "def consume(" in text
    (tmp_path / "adapter.py").write_text(text + "# mine\n")
    assert main(["init", "--adapter", "events"]) == 2
    err = capsys.readouterr().err
    assert "adapter.py: exists" in err and "--force" in err
    assert (tmp_path / "adapter.py").read_text().endswith("# mine\n")
    assert main(["init", "--adapter", "events", "--force"]) == 0


def test_an_unknown_capability_names_the_known_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--adapter", "events,evnts"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'evnts' is not a capability" in err and "entitlements" in err
    assert not (tmp_path / "adapter.py").exists()
