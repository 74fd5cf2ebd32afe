"""testplan: a test-plan-first test quality auditor.

The library API lives in the domain modules (model, store, config, review, enumerate,
trace, mutate, score, report, audit); the ``testplan`` command is one client of it.
"""

__version__ = "0.1.0"
