"""One independent analysis per area (district or polygon), run serially or on dask."""
