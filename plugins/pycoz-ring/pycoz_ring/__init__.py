"""pycoz-ring: ring and tree topology families, and ``pycoz reach``."""

__version__ = "0.1.0"
