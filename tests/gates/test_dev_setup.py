"""``./dev setup`` installs what ``./dev test`` and ``./dev gates`` need (npm ci where Node is,
Debian's chromium as root with apt) and otherwise says, in one line each, which command to run."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.gates.conftest import REPO

TOOLS = ("bash", "dirname", "sha256sum", "cut", "id", "rm", "touch")


def _checkout(tmp_path: Path) -> tuple[Path, Path]:
    """The dev script beside a ready virtualenv, and a PATH with nothing but the shell tools."""
    root = tmp_path / "clone"
    root.mkdir()
    for name in ("dev", "pyproject.toml", "package-lock.json"):
        shutil.copy2(REPO / name, root / name)
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    digest = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (root / ".venv" / f".installed-{digest}").touch()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return root, bin_dir


def test_without_node_apt_or_chromium_setup_names_the_commands(tmp_path):
    root, bin_dir = _checkout(tmp_path)
    done = subprocess.run(["bash", str(root / "dev"), "setup"], env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert any(line.startswith("dev: Node.js/npm not found") and "apt-get install nodejs npm" in line
               for line in lines), lines
    assert any(line.startswith("dev: Chromium not found") and "apt-get install chromium" in line
               for line in lines), lines
    assert len(lines) == 2, lines


def test_with_node_setup_runs_npm_ci_once(tmp_path):
    root, bin_dir = _checkout(tmp_path)
    log = tmp_path / "npm.log"
    for tool in ("node", "npm"):
        script = bin_dir / tool
        script.write_text(f"#!{shutil.which('bash')}\necho \"$0 $*\" >> {log}\n"
                          "if [ \"$1\" = ci ]; then mkdir -p node_modules/allure && : > node_modules/allure/cli.js; fi\n")
        script.chmod(0o755)
    (bin_dir / "mkdir").symlink_to(shutil.which("mkdir"))
    (bin_dir / "chromium").symlink_to(shutil.which("true"))
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    for _ in range(2):
        done = subprocess.run(["bash", str(root / "dev"), "setup"], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == [f"{bin_dir / 'npm'} ci --no-audit --no-fund --loglevel=error"]
    assert (root / "node_modules" / "allure" / "cli.js").is_file()
    assert os.listdir(root / "node_modules")
