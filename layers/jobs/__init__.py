"""Background jobs (plans, check-up routes)."""
