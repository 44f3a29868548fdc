"""Fixtures of the system tests."""

from __future__ import annotations

import pytest

from .helpers import Tmux


@pytest.fixture
def tmux(tmp_path):
    """A tmux server of the test's own: real terminals to type into and read."""
    term = Tmux(tmp_path)
    yield term
    term.close()
