"""With ``LUTKIT_REQUIRE_EXTERNAL=1`` every skip is a failure.

CI installs every optional dependency and external tool; there a skip can only mean a
broken install (a missing torch, diffusers, ray, colour-science sample file, the
default VAE, ...). This plugin turns each skip, whether from ``pytest.skip``,
``pytest.importorskip`` (in a test, a fixture or at module level) or a ``skipif``
mark, into a failure that names the reason. Without the switch skips stay skips.
Loaded by ``tests/conftest.py``.
"""

from __future__ import annotations

import os

import pytest

SWITCH = "LUTKIT_REQUIRE_EXTERNAL"


def required() -> bool:
    return os.environ.get(SWITCH) == "1"


def _reason(longrepr: object) -> str:
    """The skip reason out of a report's ``(path, line, reason)`` longrepr."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, line, reason = longrepr
        return f"{reason} ({path}:{line})"
    return str(longrepr)


def _fail(report: pytest.TestReport | pytest.CollectReport) -> None:
    report.outcome = "failed"
    report.longrepr = f"skipped, but {SWITCH}=1 forbids skips: {_reason(report.longrepr)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if required() and report.skipped and not hasattr(report, "wasxfail"):
        _fail(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    outcome = yield
    report = outcome.get_result()
    if required() and report.skipped:  # a module-level skip or importorskip
        _fail(report)


def missing_module(*names: str) -> str | None:
    """``importorskip``'s reason for the first of ``names`` that does not import, or None."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            return f"could not import {name!r}: {exc}"
    return None


class _SkippedModule(pytest.File):
    """A test module collected as one skip, without importing it."""

    reason = ""

    def collect(self):  # noqa: ANN201 - pytest's collector protocol
        pytest.skip(self.reason)


def skip_folder_unless(*names: str):  # noqa: ANN201 - returns a pytest hook or None
    """For a folder's conftest: ``pytest_pycollect_makemodule = skip_folder_unless(...)``.

    Where one of ``names`` does not import, every test module under the folder is
    collected as a skip (a failure under the switch) instead of being imported. A
    module-level ``importorskip`` in the conftest does the same when pytest collects
    the whole tree, but crashes pytest when the folder itself is named on its command
    line (``pytest tests/models``): a conftest given that way is loaded before
    collection, where a skip is not handled."""
    reason = missing_module(*names)
    if reason is None:
        return None

    def pytest_pycollect_makemodule(module_path, parent):  # noqa: ANN001, ANN202
        node = _SkippedModule.from_parent(parent, path=module_path)
        node.reason = reason
        return node

    return pytest_pycollect_makemodule
