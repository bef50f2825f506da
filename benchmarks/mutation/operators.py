"""SQL mutation operators: small, realistic mistakes planted in the reference's SQL.

mutmut and cosmic-ray mutate Python only; a data layer's guarantees live in its SQL (functions,
policies, constraints, locks), so these operators mutate SQL text wherever it is written: the
migrations' ``op.execute`` strings and the policies of ``reference_impl/rls.py``. Each operator
scans a Python source file and yields :class:`Mutant` objects, one edit each, only inside its
string literals (where the SQL is): Python code, comments (``#`` and SQL ``--``) and docstrings
cannot carry a SQL mistake. Keywords match in either case (the adapters write lowercase SQL).

Operators (names as the report shows them):

- ``relational``: ``<=`` <-> ``<``, ``>=`` <-> ``>`` (an off-by-one at a boundary);
- ``drop-conjunct``: one ``AND <term>`` of a WHERE / USING / WITH CHECK / ON condition removed;
- ``conflict-column``: one column dropped from an ``ON CONFLICT (...)``, ``UNIQUE (...)`` or
  ``PRIMARY KEY (...)`` list (a key unique across tenants, a conflict target that no longer
  matches);
- ``security-definer``: ``SECURITY INVOKER`` -> ``SECURITY DEFINER`` (RLS no longer applies to
  the caller);
- ``drop-row-lock``: ``FOR UPDATE`` / ``FOR NO KEY UPDATE`` / ``FOR SHARE`` / ``FOR KEY SHARE``
  of a SELECT removed (never a policy's ``FOR UPDATE`` command);
- ``swap-statements``: two adjacent one-line statements of a function body swapped;
- ``unlogged``: ``CREATE TABLE`` -> ``CREATE UNLOGGED TABLE`` (a table made fast by skipping the
  WAL: it answers every query alike, and comes back empty after a crash and from a restore);
- ``constant``: an integer after ``DEFAULT``, ``LIMIT``, ``IN 1..``, ``=>`` or a comparison set
  to another value (retry limits, timeouts, tolerances);
- ``drop-down-step``: a Python operator: one ``op.execute(...)`` statement of a migration's
  ``downgrade()`` removed (a rollback that forgets to drop an index, a policy, a function: what
  the rollback rehearsal exists to catch);
- ``split-transaction``: a Python operator: a ``with ... transaction():``, ``with ...,
  bound_workspace(...):`` or ``with self.in_workspace(...) as conn:`` block whose body runs SQL before and after a statement boundary is
  split there into two blocks, the second opening (and binding) its own transaction, so what was
  one atomic step commits half-way.

A SQL operator never edits the inside of a SQL string literal (a ``RAISE`` message's "and" is no
conjunct); ``constant`` may (``interval '5 minutes'`` is a timeout).
"""

from __future__ import annotations

import hashlib
import io
import re
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["CODE_OPERATORS", "OPERATORS", "Mutant", "mutants_of"]


@dataclass(frozen=True)
class Mutant:
    """One edit of one file: ``text[start:end]`` replaced by ``replacement``."""

    operator: str
    path: str            # relative to the repository root
    line: int
    start: int
    end: int
    original: str
    replacement: str
    in_downgrade: bool

    @property
    def id(self) -> str:
        digest = hashlib.sha256(f"{self.path}:{self.start}:{self.end}:{self.replacement}".encode())
        return f"{self.operator}-{digest.hexdigest()[:8]}"

    def apply(self, text: str) -> str:
        assert text[self.start:self.end] == self.original, f"{self.id}: the source changed"
        return text[:self.start] + self.replacement + text[self.end:]

    def describe(self) -> str:
        before = " ".join(self.original.split())[:80]
        after = " ".join(self.replacement.split())[:80]
        return f"{self.path}:{self.line} [{self.operator}] {before!r} -> {after!r}"


Site = tuple[int, int, str]          # start, end, replacement
Operator = Callable[[str], Iterator[Site]]

_RELATIONAL = {"<=": "<", "<": "<=", ">=": ">", ">": ">="}


def _relational(text: str) -> Iterator[Site]:
    # a comparison between SQL operands: spaces around it, not part of => <> -> or a cast
    for m in re.finditer(r"(?<=[\w)\]'] )(<=|>=|<|>)(?= [\w(:$'])", text):
        yield m.start(), m.end(), _RELATIONAL[m.group(1)]


_STOP = re.compile(r"\s+(AND|OR|ORDER|LIMIT|RETURNING|FOR|GROUP|THEN|LOOP|INTO|WITH|ON|USING)\b|;|\n\s*\n",
                   re.IGNORECASE)


def _drop_conjunct(text: str) -> Iterator[Site]:
    for m in re.finditer(r"\s+AND\s+", text, re.IGNORECASE):
        if re.search(r"BETWEEN\s+\S+$", text[max(0, m.start() - 40):m.start()], re.IGNORECASE):
            continue               # the AND of BETWEEN x AND y is no conjunct
        depth, i = 0, m.end()
        while i < len(text):
            c = text[i]
            if c in "([":
                depth += 1
            elif c in ")]":
                if depth == 0:
                    break
                depth -= 1
            elif c == "'" and depth == 0:
                close = text.find("'", i + 1, text.find("\n", i) % (len(text) + 1))
                if close < 0:
                    break          # the end of a Python string, not a SQL literal
                i = close          # the literal belongs to the term: `AND role = 'owner'`
            elif c == '"' and depth == 0 or depth == 0 and _STOP.match(text, i):
                break
            i += 1
        if i > m.end():
            yield m.start(), i, ""


def _conflict_column(text: str) -> Iterator[Site]:
    for m in re.finditer(r"(ON CONFLICT|UNIQUE|PRIMARY KEY)\s*\(([^()]*)\)", text, re.IGNORECASE):
        columns = [c.strip() for c in m.group(2).split(",")]
        if len(columns) < 2:
            continue
        for drop in range(len(columns)):
            kept = ", ".join(c for n, c in enumerate(columns) if n != drop)
            yield m.start(2), m.end(2), kept


def _security_definer(text: str) -> Iterator[Site]:
    for m in re.finditer(r"SECURITY INVOKER", text, re.IGNORECASE):
        yield m.start(), m.end(), "SECURITY DEFINER"


def _drop_row_lock(text: str) -> Iterator[Site]:
    for m in re.finditer(r"\s+FOR (NO KEY UPDATE|UPDATE|KEY SHARE|SHARE)\b", text, re.IGNORECASE):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if "POLICY" in text[line_start:m.start()].upper():
            continue               # CREATE POLICY ... FOR UPDATE is a command, not a row lock
        yield m.start(), m.end(), ""


_STATEMENT = re.compile(r"^([ \t]+)(?!--)(\S[^\n;]*;)[ \t]*$", re.MULTILINE)


def _swap_statements(text: str) -> Iterator[Site]:
    lines = list(_STATEMENT.finditer(text))
    for a, b in zip(lines, lines[1:], strict=False):
        between = text[a.end():b.start()]
        if between.strip() or a.group(1) != b.group(1) or a.group(2) == b.group(2):
            continue
        if re.match(r"(END|RETURN|EXIT|BEGIN|DECLARE)\b", a.group(2)) or \
                re.match(r"(END|RETURN|EXIT|BEGIN|DECLARE)\b", b.group(2)):
            continue
        yield a.start(2), b.end(2), f"{b.group(2)}{between}{b.group(1)}{a.group(2)}"


def _unlogged(text: str) -> Iterator[Site]:
    for m in re.finditer(r"\bCREATE(?= TABLE\b)", text, re.IGNORECASE):
        yield m.start(), m.end(), m.group(0) + (" UNLOGGED" if m.group(0).isupper() else " unlogged")


def _constant(text: str) -> Iterator[Site]:
    for m in re.finditer(r"(DEFAULT|LIMIT|IN 1\.\.|=>|>=|<=|[<>=]|interval ')\s*(\d+)\b", text,
                         re.IGNORECASE):
        value = int(m.group(2))
        if m.group(1) in ("=", "<", ">") and not re.search(r"\w\s*$", text[:m.start()]):
            continue
        other = 1 if value != 1 else 2
        if value > 2:
            other = value // 2   # a limit halved: a tolerance, timeout or retry budget too tight
        yield m.start(2), m.end(2), str(other)


def _drop_down_step(text: str) -> Iterator[Site]:
    body = re.search(r"^def downgrade\(.*\n", text, re.MULTILINE)
    if body is None:
        return
    for m in re.finditer(r"^    op\.execute\(", text[body.end():], re.MULTILINE):
        start = body.end() + m.start() + 4
        end = _call_end(text, body.end() + m.end())
        if end is not None:
            yield start, end, "pass"


def _call_end(text: str, at: int) -> int | None:
    """The offset just past the ``)`` closing a call whose ``(`` ends just before ``at``."""
    tokens = tokenize.generate_tokens(io.StringIO(text[at:]).readline)
    depth, lines = 1, [0]
    for line in text[at:].splitlines(keepends=True):
        lines.append(lines[-1] + len(line))
    try:
        for tok in tokens:
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
                if depth == 0:
                    return at + lines[tok.end[0] - 1] + tok.end[1]
    except (tokenize.TokenError, IndentationError):
        return None
    return None


_HEADER = re.compile(r"^([ \t]*)with [^\n]*(\.transaction\(\)|bound_workspace\([^\n]*\)|"
                     r"in_workspace\([^\n]*\) as \w+):[ \t]*$", re.MULTILINE)
_NOT_A_START = re.compile(r"[)\]}]|(else|elif|except|finally)\b")


def _split_transaction(text: str) -> Iterator[Site]:
    for header in _HEADER.finditer(text):
        indent = len(header.group(1))
        starts: list[int] = []              # offsets of the body's top-level statements
        body_indent = None
        at = header.end() + 1
        while at < len(text):
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            line = text[at:end]
            if line.strip():
                depth = len(line) - len(line.lstrip())
                if depth <= indent:
                    break
                body_indent = depth if body_indent is None else body_indent
                if depth == body_indent and not _NOT_A_START.match(line.lstrip()):
                    starts.append(at)
            at = end + 1
        body_end = at
        spans = [(a, b) for a, b in zip(starts, [*starts[1:], body_end], strict=True)]
        binds = [(a, b) for a, b in spans if text[a:b].lstrip().startswith(("bind", "bound"))]
        for cut, _ in spans[1:]:
            before = [text[a:b] for a, b in spans if a < cut and (a, b) not in binds]
            after = [text[a:b] for a, b in spans if a >= cut]
            if text[cut:].lstrip().startswith(("bind", "bound")) or \
                    not any("execute" in part for part in before) or \
                    not any("execute" in part for part in after):
                continue
            again = header.group(0) + "\n" + "".join(text[a:b] for a, b in binds if a < cut)
            yield cut, cut, again


OPERATORS: dict[str, Operator] = {
    "relational": _relational, "drop-conjunct": _drop_conjunct, "conflict-column": _conflict_column,
    "security-definer": _security_definer, "drop-row-lock": _drop_row_lock,
    "swap-statements": _swap_statements, "constant": _constant, "unlogged": _unlogged,
    "drop-down-step": _drop_down_step, "split-transaction": _split_transaction,
}
# operators that edit Python code, not the SQL inside its strings
CODE_OPERATORS = frozenset({"split-transaction", "drop-down-step"})


def _live_spans(text: str) -> list[tuple[int, int]]:
    """Where SQL lives: the string literals of the Python file that are not docstrings (a
    string standing alone as a statement), minus SQL ``--`` comments inside them."""
    offsets = [0]
    for line in text.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type not in (tokenize.COMMENT, tokenize.NL)]
    spans = []
    for n, tok in enumerate(tokens):
        if tok.type != tokenize.STRING:
            continue
        before = tokens[n - 1].type if n else tokenize.NEWLINE
        after = tokens[n + 1].type if n + 1 < len(tokens) else tokenize.NEWLINE
        if before in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING) \
                and after in (tokenize.NEWLINE, tokenize.ENDMARKER):
            continue                       # a docstring
        start = offsets[tok.start[0] - 1] + tok.start[1]
        end = offsets[tok.end[0] - 1] + tok.end[1]
        cut = start
        for comment in re.finditer(r"--[^\n]*", text[start:end]):
            spans.append((cut, start + comment.start()))
            cut = start + comment.end()
        spans.append((cut, end))
    return spans


def _sql_literals(text: str, live: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The SQL string literals ('...', '' inside) of the Python strings double-quoted in the
    source (a single-quoted Python string cannot hold a bare SQL quote)."""
    found = []
    for start, end in live:
        for m in re.finditer(r"'(?:[^'\n]|'')*'", text[start:end]):
            found.append((start + m.start(), start + m.end()))
    return found


def _cuts_literal(start: int, end: int, literals: list[tuple[int, int]]) -> bool:
    """An edit inside a SQL literal, or one cutting through its quotes: not a SQL mistake."""
    return any(a < end and start < b and not (start <= a and b <= end) for a, b in literals)


def _downgrade_start(text: str) -> int:
    found = re.search(r"^def downgrade\(", text, re.MULTILINE)
    return found.start() if found else len(text)


def mutants_of(path: str, text: str, operators: tuple[str, ...] = tuple(OPERATORS)) -> list[Mutant]:
    """Every mutant of ``text`` (the file at ``path``) under ``operators``, in file order."""
    live = _live_spans(text)
    literals = _sql_literals(text, live)
    downgrade = _downgrade_start(text)
    found: dict[str, Mutant] = {}
    for name in operators:
        for start, end, replacement in OPERATORS[name](text):
            if text[start:end] == replacement:
                continue
            in_sql = any(a <= start and end <= b for a, b in live)
            if name in CODE_OPERATORS:
                if in_sql:
                    continue
            elif not in_sql or name != "constant" and _cuts_literal(start, end, literals):
                continue
            mutant = Mutant(name, path, text.count("\n", 0, start) + 1, start, end,
                            text[start:end], replacement, start >= downgrade)
            found.setdefault(mutant.id, mutant)
    return sorted(found.values(), key=lambda m: (m.start, m.operator))
