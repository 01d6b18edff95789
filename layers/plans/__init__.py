"""Site-planning service: requests, walking costs, results."""
