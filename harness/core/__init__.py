"""The core room: what every scenario family shares, so no family imports another.

- :mod:`~harness.core.catalog`: the target's tables, columns, keys, policies, views and
  functions, read from the database's catalog (tenant tables recognised by the spec's tenancy);
- :mod:`~harness.core.rows`: :class:`RowFactory`, valid rows for any table built from the
  catalog alone, each seeded for a principal through the spec's binding; its values come from
  :mod:`~harness.core.values`, its volume by COPY from :mod:`~harness.core.bulk`, and what its
  callers share with it (hooks, :class:`SeedingFailure`, :class:`SeededRow`) from
  :mod:`~harness.core.seeding`;
- :mod:`~harness.core.findings`: :class:`Finding` and :func:`require_no_findings`, the one way
  a family raises its findings as its failure type.
"""

from harness.core.catalog import Catalog, Column, ForeignKey, Table, read_catalog
from harness.core.findings import Finding, advice, require_no_findings
from harness.core.rows import (
           RowFactory,
           SeededRow,
           SeedingFailure,
           Statement,
           overrides_from,
           tenant_creator,
)

__all__ = ["Catalog", "Column", "Finding", "ForeignKey", "RowFactory", "SeededRow", "SeedingFailure",
           "Statement", "Table", "advice", "overrides_from", "read_catalog", "require_no_findings",
           "tenant_creator"]
