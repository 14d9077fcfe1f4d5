"""What the platform functions do, as library code: `functions/` holds only their Lambda entry points.

Kept light on import: each module is imported by the function that needs it (see `registry`).
"""
