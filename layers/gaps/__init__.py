"""Coverage-gap analysis service: inputs (workplaces, resources), the service, outputs."""
