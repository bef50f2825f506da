"""Tenant isolation (gate S03, and S02's unauthorized-access negatives).

Catalog-driven checks that need only the database and the migrations (coverage, posture, bypass
hunting, the cross-tenant matrix, pool leakage, a property over many tenants) and behavioural
checks through the target adapter (the membership role matrix and its audit trail).
"""
