"""Entitlements: quotas per workspace and feature, usage counted per period (S10)."""
