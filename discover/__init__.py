"""discover: find the PDE hidden in measured data."""

__version__ = "0.1.0"
