"""Static lint of each revision's SQL with squawk (PyPI ``squawk-cli``, a real binary).

The rules are squawk's, never re-implemented here: each revision's upgrade SQL (``step_sql``:
``alembic upgrade --sql``, or the file itself for a SQL folder) is written to a file named after
the revision and squawk's JSON report is parsed. A hit of a rule listed as a lock rule (heavy
locks, table rewrites) is a finding naming the revision, the rule and the statement; an allowed
exception (revision + rule + reason, from configuration) is listed with its reason instead;
every other rule's hits are advice, and so is a lock-rule hit on a table created earlier in
the same revision (new and empty: its lock blocks nobody).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.migrations import MigrationTool
from harness.migrations.sql_folder import split_statements
from harness.rehearsal.failures import Finding, RehearsalFailure
from harness.rehearsal.profile import RehearsalConfig

__all__ = ["LintHit", "LintReport", "lint_chain", "squawk_binary"]


@dataclass(frozen=True)
class LintHit:
    revision: str
    rule: str
    message: str
    statement: str
    allowed_because: str | None = None

    def as_dict(self) -> dict:
        return {"revision": self.revision, "rule": self.rule, "message": self.message,
                "statement": self.statement, "allowed": self.allowed_because}


@dataclass(frozen=True)
class LintReport:
    findings: tuple[LintHit, ...]     # lock rules: each one fails the check
    allowed: tuple[LintHit, ...]      # lock-rule hits with a configured exception
    advice: tuple[LintHit, ...]       # every other rule
    unlinted: tuple[str, ...]         # revisions whose SQL the tool cannot give offline

    def as_findings(self) -> list[Finding]:
        return [Finding(h.revision, f"lint:{h.rule}", h.message, f"statement:\n{h.statement}")
                for h in self.findings]


def squawk_binary() -> str:
    """The squawk executable next to this interpreter (the wheel's), or on PATH."""
    beside = Path(sys.executable).parent / "squawk"
    found = str(beside) if beside.exists() else shutil.which("squawk")
    if not found:
        raise RehearsalFailure("squawk is not installed", [(
            "fix", "pip install 'squawk-cli>=2.0' (a dependency of the harness)")])
    return found


def lint_chain(tool: MigrationTool, config: RehearsalConfig) -> LintReport:
    """Lints every revision's upgrade SQL; one squawk run for the whole chain."""
    findings, allowed, advice, unlinted = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="harness-squawk-") as tmp:
        files: dict[str, tuple[str, str]] = {}
        for rev in tool.revisions():
            text = tool.step_sql(rev, "upgrade")
            if text is None:
                unlinted.append(rev.id)
                continue
            name = f"{len(files):04d}_{''.join(ch if ch.isalnum() else '_' for ch in rev.id)}.sql"
            (Path(tmp) / name).write_text(text, encoding="utf-8")
            files[name] = (rev.id, text)
        if files:
            for hit in _run_squawk(tmp, sorted(files), config):
                revision, text = files[Path(hit["file"]).name]
                lines = text.splitlines()
                statement = "\n".join(lines[hit["line"]:hit.get("line_end", hit["line"]) + 1]).strip()
                item = LintHit(revision, hit["rule_name"], hit["message"], statement)
                new_table = _created_earlier(text, hit["line"])
                if hit["rule_name"] not in config.lock_rules:
                    advice.append(item)
                elif new_table:
                    # a table created earlier in the same file is empty and has no traffic yet:
                    # its lock blocks nobody (squawk does not track this across statements)
                    advice.append(LintHit(revision, item.rule, item.message, statement,
                                          f"{new_table} is created earlier in the same revision"))
                elif (a := config.allowance(revision, hit["rule_name"])) is not None:
                    allowed.append(LintHit(revision, item.rule, item.message, statement, a.reason))
                else:
                    findings.append(item)
    return LintReport(tuple(findings), tuple(allowed), tuple(advice), tuple(unlinted))


_CREATE_TABLE = re.compile(r"\bcreate\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?"
                           r"([\w\"]+(?:\.[\w\"]+)?)", re.IGNORECASE)
_TARGET = re.compile(r"^\s*(?:alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?|create\s+(?:unique\s+)?"
                     r"index\s+.*?\bon\s+(?:only\s+)?|reindex\s+table\s+|cluster\s+)"
                     r"([\w\"]+(?:\.[\w\"]+)?)", re.IGNORECASE | re.DOTALL)


def _created_earlier(text: str, line: int) -> str | None:
    """The table the statement at ``line`` (0-based) works on, when an earlier statement of the
    same file created it; None otherwise."""
    lines = text.splitlines()
    before = split_statements("\n".join(lines[:line + 1]))
    if not before:
        return None
    target = _TARGET.match(_strip_comments(before[-1]))
    if target is None:
        return None
    created = {_plain(m) for m in _CREATE_TABLE.findall("\n".join(before[:-1]))}
    name = _plain(target.group(1))
    for table in created:
        # "plans" and "public.plans" are one table when either leaves the schema to search_path
        same = table == name or ("." not in table or "." not in name) and \
            table.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]
        if same:
            return name
    return None


def _plain(name: str) -> str:
    return name.replace('"', "").lower()


def _strip_comments(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))


def _run_squawk(folder: str, names: list[str], config: RehearsalConfig) -> list[dict]:
    command = [squawk_binary(), "--reporter", "json", "--pg-version", config.squawk_pg_version,
               *names]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120,
                          check=False)
    # squawk exits 1 when it reports anything; the JSON is the verdict, the code is not
    try:
        hits = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        raise RehearsalFailure(f"squawk did not produce JSON (exit {done.returncode})",
                               [("squawk stderr", done.stderr[-3000:]),
                                ("squawk stdout", done.stdout[-3000:])]) from None
    if done.returncode not in (0, 1) or not isinstance(hits, list):
        raise RehearsalFailure(f"squawk failed (exit {done.returncode})",
                               [("squawk stderr", done.stderr[-3000:])])
    return hits
