"""Accounts, roles and who may do what (the policy used by every write)."""
