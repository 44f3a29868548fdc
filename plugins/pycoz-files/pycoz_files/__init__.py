"""pycoz-files: ``pycoz trace --tracer files``."""

__version__ = "0.1.0"
