"""Schema standards, security posture and data integrity: the catalog conventions a release lead
relies on (after Supabase's splinter lints, for plain PostgreSQL) and the behaviour behind them.

- :mod:`.lints`: tenant column convention, foreign-key and tenant access-path indexes, duplicate
  indexes, UNLOGGED tables, policies on tables without RLS - each finding names the object and
  gives the DDL that fixes it;
- :mod:`.hardening`: who may create objects, pinned ``search_path`` on SECURITY DEFINER
  functions, extension allowlist, default privileges, plus a behaviour probe;
- :mod:`.identity`: global identity tables visible only to the person and their co-members;
- :mod:`.seeds`: seed and fixture data loaded through the app role, every constraint checked;
- :mod:`.preflight`: a misconfigured data environment fails early, naming the setting;
- :mod:`.analytics`: analytics events against their taxonomy, once per key, in their workspace.
"""

from harness.standards.failures import StandardsFailure, require_clean

__all__ = ["StandardsFailure", "require_clean"]
