"""Lambda entry points, one per platform function; the work is done in `orchestration.runtime`."""
