"""Check-up vehicle routing service: requests checked at the edge, drive times, samples."""
