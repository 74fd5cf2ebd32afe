"""The pytest plugin (entry point ``pytest11``): the ``verifies`` marker.

Tests declare which plan cases (``PAY-1.3``) or requirements (``PAY-1``) they verify::

    @pytest.mark.verifies("PAY-1.1", "PAY-1.2")
    def test_two_pets_get_ten_percent(): ...

Disable with ``-p no:testplan``.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "verifies(*ids): the plan cases (PAY-1.3) or requirements (PAY-1) this test verifies (testplan)",
    )
