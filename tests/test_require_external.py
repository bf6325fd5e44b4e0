"""Under LUTKIT_REQUIRE_EXTERNAL=1 no skip passes quietly (tests/require_external.py)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SKIPPING = """
import pytest

pytest.importorskip("{module}")  # a module-level skip, at collection


def test_never_runs():
    pass
"""

SKIPPING_IN_TESTS = """
import pytest


@pytest.fixture
def needs_it():
    pytest.importorskip("lutkit_no_such_module")


def test_fixture_skip(needs_it):
    pass


def test_call_skip():
    pytest.skip("a sample file is missing")


@pytest.mark.skipif(True, reason="the default VAE is not built")
def test_mark_skip():
    pass


def test_passes():
    pass
"""


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, switch: str | None, **files):
    if switch is None:
        monkeypatch.delenv("LUTKIT_REQUIRE_EXTERNAL", raising=False)
    else:
        monkeypatch.setenv("LUTKIT_REQUIRE_EXTERNAL", switch)
    pytester.makepyfile(**files)
    plugins = ("tests.require_external", "no:cacheprovider", "no:hypothesispytest", "no:anyio")
    return pytester.runpytest(*[a for p in plugins for a in ("-p", p)])


def test_skips_in_tests_fixtures_and_marks_fail_under_the_switch(pytester, monkeypatch):
    result = run(pytester, monkeypatch, "1", test_in=SKIPPING_IN_TESTS)
    result.assert_outcomes(passed=1, failed=1, errors=2)  # setup skips become errors
    result.stdout.fnmatch_lines(
        ["*LUTKIT_REQUIRE_EXTERNAL=1 forbids skips: *lutkit_no_such_module*"]
    )
    result.stdout.fnmatch_lines(["*forbids skips: *a sample file is missing*"])
    result.stdout.fnmatch_lines(["*forbids skips: *the default VAE is not built*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_module_level_importorskip_fails_under_the_switch(pytester, monkeypatch):
    result = run(pytester, monkeypatch, "1", test_mod=SKIPPING.format(module="diffusers_gone"))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*forbids skips: *could not import 'diffusers_gone'*"])
    assert result.ret != pytest.ExitCode.OK


def test_without_the_switch_skips_stay_skips(pytester, monkeypatch):
    result = run(
        pytester,
        monkeypatch,
        "0",
        test_in=SKIPPING_IN_TESTS,
        test_mod=SKIPPING.format(module="diffusers_gone"),
    )
    result.assert_outcomes(passed=1, skipped=4)
    assert result.ret == pytest.ExitCode.OK
