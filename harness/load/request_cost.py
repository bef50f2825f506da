"""What one list request may cost the database, judged from the probe (:mod:`.probe`).

A list request's statements and the rows they return must not grow with the page size or with
the tenant's size: the same page of a tenant with ten times the rows costs the same, and a page
ten times larger costs more rows but not more statements. Growth with the page size is an N+1
(one statement per row of the page); rows returned growing with the tenant is fetch-all paging
(the whole tenant leaves the database and the application cuts the page).

Shared buffers per request are measured and attached, not judged: a page of the newest rows
of a large tenant touches as many heap pages as those rows are spread over (the reference, ci
profile: 11 buffers per page statement for a 300-item tenant, 3 for a 20-item one; a lost sort
index, bite profile: 28 per request for 200 items against 5), too close to tell apart reliably;
the page's plan (:mod:`.plans`) says whether the scan stops after the page.
"""

from __future__ import annotations

from harness.load.probe import Capacity, ListProbe

__all__ = ["STATEMENT_SLACK", "capacity_problems", "growth_problems"]

# a request may run one statement more at another size (a lazily opened connection's check,
# say); an N+1 runs one more per row of the page
STATEMENT_SLACK = 1.0


def _find(probes: tuple[ListProbe, ...], klass: str, limit: int | None = None) -> list[ListProbe]:
    return [p for p in probes if p.tenant_class == klass and (limit is None or p.limit == limit)]


def growth_problems(probes: tuple[ListProbe, ...]) -> list[tuple[str, str]]:
    """Statements per request growing with the page size or the tenant; rows returned per
    request growing with the tenant at the same page size."""
    problems = []
    for probe in probes:
        bad = [s for s in probe.statuses if s != 200]
        if bad:
            problems.append((probe.label, f"list requests answered {bad}, not 200"))
    large = sorted(_find(probes, "large"), key=lambda p: p.limit)
    if len(large) >= 2:
        small_page, big_page = large[0], large[-1]
        if big_page.statements_per_request - small_page.statements_per_request > STATEMENT_SLACK:
            problems.append(("statements per request vs page size",
                             f"{small_page.statements_per_request:g} statements per request at limit "
                             f"{small_page.limit}, {big_page.statements_per_request:g} at limit "
                             f"{big_page.limit}: one more per row of the page (N+1)"))
    for small in _find(probes, "small"):
        for same in _find(probes, "large", small.limit):
            if same.statements_per_request - small.statements_per_request > STATEMENT_SLACK:
                problems.append(("statements per request vs tenant size",
                                 f"{same.statements_per_request:g} for the large tenant, "
                                 f"{small.statements_per_request:g} for a small one, same page"))
            # both tenants fill the page: the rows that left the database must be the same
            if same.rows_per_request - small.rows_per_request > STATEMENT_SLACK:
                problems.append(("rows returned per request vs tenant size",
                                 f"{same.rows_per_request:g} rows per request for the large tenant, "
                                 f"{small.rows_per_request:g} for a small one, both at limit "
                                 f"{small.limit}: the whole tenant leaves the database (fetch-all paging)"))
    return problems


def capacity_problems(capacity: Capacity, required: int) -> list[tuple[str, str]]:
    """Fewer than ``required`` simultaneous list requests reached the database."""
    problems = []
    if capacity.in_database < required:
        problems.append(("requests in the database at once",
                         f"{capacity.in_database} of {capacity.sent} simultaneous list requests reached "
                         f"the database while it held them (the profile asks for {required}): the rest "
                         "queued in the API for a connection (a pool too small for the load)"))
    bad = [s for s in capacity.statuses if s != 200]
    if bad:
        problems.append(("simultaneous list requests", f"answered {bad}, not 200"))
    return problems
