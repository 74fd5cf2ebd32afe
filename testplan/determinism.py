"""What makes the traced pytest and the mutation worker see the same suite, run after run.

- **The hash seed.** ``str`` hashes are randomised per process, so a test parametrized over a
  ``set`` collects its cases in a different order, and cases whose IDs are their index
  (``value2``) under different IDs, in each process. The trace and the worker therefore run
  with one pinned ``PYTHONHASHSEED`` (:func:`hash_seed`): the user's own when their
  environment sets one (an integer), else :data:`DEFAULT_HASH_SEED`. ``audit.json`` records it
  as ``hash_seed``.
- **Hypothesis.** Loaded into both pytest runs as a plugin (``-p testplan.determinism``), this
  module registers and loads (when the suite imports Hypothesis, so a suite without it does
  not pay for the import) the Hypothesis profile :data:`HYPOTHESIS_PROFILE`: the profile
  that was active (the project's own settings are kept) with ``derandomize=True`` (examples
  derived from each test's source, not drawn at random) and ``database=None`` (no example
  saved by one run, or by one mutant, is replayed in another, and nothing is written to a
  ``.hypothesis/`` directory). It is loaded last in ``pytest_configure``, after the project's
  root conftest.py and ``--hypothesis-profile``, and before the test modules are imported, so
  ``@settings(...)`` decorators inherit it too; a test that sets ``derandomize`` or
  ``database`` itself keeps its own choice.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

import pytest

HASH_SEED = "PYTHONHASHSEED"
DEFAULT_HASH_SEED = 0
MAX_HASH_SEED = 4294967295  # Python's range for PYTHONHASHSEED
HYPOTHESIS_PROFILE = "testplan-derandomized"
PLUGIN = "testplan.determinism"  # the name for pytest's -p


def hash_seed(environ: Mapping[str, str]) -> int:
    """The seed to pin: ``environ``'s PYTHONHASHSEED when it is an integer Python accepts,
    else DEFAULT_HASH_SEED (unset, empty, or ``random``, which would not pin anything)."""
    value = environ.get(HASH_SEED, "").strip()
    if re.fullmatch(r"\d+", value) and int(value) <= MAX_HASH_SEED:
        return int(value)
    return DEFAULT_HASH_SEED


def pinned(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` with PYTHONHASHSEED pinned (see :func:`hash_seed`)."""
    return {**environ, HASH_SEED: str(hash_seed(environ))}


def load_hypothesis_profile() -> None:
    """Register HYPOTHESIS_PROFILE on top of the active profile and load it."""
    from hypothesis import settings

    settings.register_profile(HYPOTHESIS_PROFILE, parent=settings.default, derandomize=True, database=None)
    settings.load_profile(HYPOTHESIS_PROFILE)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``then()`` right after the module ``name`` is first imported (before the importing
    code goes on), so a suite that never imports it does not pay for importing it."""

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once; and find_spec below must not come back here
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Then(spec.loader, self.then)  # a loader of its own: others may share theirs
        return spec


class _Then(importlib.abc.Loader):
    """A loader that runs ``then()`` after ``loader`` has executed the module."""

    def __init__(self, loader: Any, then: Callable[[], None]) -> None:
        self.loader, self.then = loader, then

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        self.then()

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, get_data, ...
        return getattr(self.loader, name)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """After the root conftest.py files and ``--hypothesis-profile``; before test modules import."""
    if "hypothesis" in sys.modules:
        load_hypothesis_profile()
    elif importlib.util.find_spec("hypothesis") is not None:
        sys.meta_path.insert(0, _AfterImport("hypothesis", load_hypothesis_profile))


HYPOTHESIS_PLUGIN = "hypothesispytest"  # Hypothesis' pytest11 entry point


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A suite that never imported Hypothesis has nothing for its plugin's terminal summary,
    which imports Hypothesis anyway: about 1 s, since pytest assertion-rewrites a plugin's whole
    distribution and, without bytecode, compiles it anew. Its plugin is unregistered first."""
    if "hypothesis" not in sys.modules:
        plugin = session.config.pluginmanager.get_plugin(HYPOTHESIS_PLUGIN)
        if plugin is not None:
            session.config.pluginmanager.unregister(plugin)
