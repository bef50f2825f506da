"""Onboarding: from a user's migrations (or database) to a first packet, through ``harness init``.

:func:`run_init` drafts a commented ``target.yaml`` from the catalog and, on request, a typed
adapter skeleton for the capabilities the product has; :mod:`harness.presets` holds the shared
keys of common targets (``preset: supabase``).
"""

from harness.onboarding.init import InitRequest, InitResult, run_init
from harness.onboarding.report import print_report

__all__ = ["InitRequest", "InitResult", "print_report", "run_init"]
