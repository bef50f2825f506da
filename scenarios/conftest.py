"""Shared by every scenario suite. The evidence hooks live in the harness plugin
(``harness.evidence``): a failed check's ``context`` is attached there, for every family.
"""
