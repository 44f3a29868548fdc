"""Throwaway plugin distributions for tests: real entry points, no mocks.

The helper is pycoz's kit for plugin authors (``pycoz_cli.testing.Dists``),
so pycoz's own tests and a plugin's use the same one.
"""

from __future__ import annotations

from pycoz_cli.testing import Dists

__all__ = ["Dists"]
