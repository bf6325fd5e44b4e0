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


FOLDER_CONFTEST = """
from tests.require_external import skip_folder_unless

pytest_pycollect_makemodule = skip_folder_unless("lutkit_no_such_module")
"""

FOLDER_TEST = """
import lutkit_no_such_module  # never imported: the folder's conftest skips first


def test_never_runs():
    pass
"""


@pytest.mark.parametrize("switch", ["0", "1"])
def test_a_folder_that_needs_a_missing_module_named_on_the_command_line(
    pytester, monkeypatch, switch
):
    # `pytest tests/models` with diffusers missing: the folder's conftest is loaded
    # before collection, where a module-level importorskip crashed pytest.
    sub = pytester.mkpydir("needs")
    (sub / "conftest.py").write_text(FOLDER_CONFTEST)
    (sub / "test_a.py").write_text(FOLDER_TEST)
    (sub / "test_b.py").write_text(FOLDER_TEST)
    monkeypatch.setenv("LUTKIT_REQUIRE_EXTERNAL", switch)
    plugins = ("tests.require_external", "no:cacheprovider", "no:hypothesispytest", "no:anyio")
    result = pytester.runpytest(*[a for p in plugins for a in ("-p", p)], "needs")
    if switch == "0":
        result.assert_outcomes(skipped=2)  # pytest's own code for "all skipped at collection":
        assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    else:
        result.assert_outcomes(errors=2)
        result.stdout.fnmatch_lines(["*forbids skips: *could not import 'lutkit_no_such_module'*"])
        assert result.ret != pytest.ExitCode.OK
