"""Without Ray, ``--engine ray`` is a clear error. This runs whether or not Ray is
installed (test_ray.py, which needs Ray, skips without it)."""

from __future__ import annotations

import sys

import pytest

from lutkit.errors import ConfigError
from tests.data.helpers import build, make_sources


def test_missing_ray_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    src = make_sources(tmp_path / "src", bad=False)
    with pytest.raises(ConfigError) as err:
        build(src, tmp_path / "ds", engine="ray")
    assert str(err.value) == "the Ray engine needs ray[data] (pip install 'lutkit[scale]')"
    assert not (tmp_path / "ds").exists()


def test_an_address_where_nothing_listens_is_one_line_in_seconds(tmp_path):
    # Ray itself retries such an address for minutes, printing progress meanwhile
    import socket

    from click.testing import CliRunner

    from lutkit.cli import main

    pytest.importorskip("ray")
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        args = ["dataset", "build", "--source", "sample", "--variants", "1", "--size", "32"]
        args += ["--out", str(tmp_path / "ds"), "--engine", "ray"]
        result = CliRunner().invoke(main, [*args, "--ray-address", f"127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot reach the Ray cluster at 127.0.0.1:{port}: connection refused "
        "(check --ray-address: the head node's HOST:PORT, e.g. HEAD:6379; or leave it out "
        "for a local Ray)\n"
    )
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("command", ["dataset build", "latents", "train"])
def test_an_address_without_the_ray_engine_is_refused(tmp_path, command):
    from click.testing import CliRunner

    from lutkit.cli import main

    out = str(tmp_path / "ds")
    first = {"dataset build": ["--source", "sample", "--out", out], "latents": [out], "train": []}
    args = [*command.split(), *first[command], "--ray-address", "HEAD:6379"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: --ray-address HEAD:6379 needs --engine ray (this run would be local)"
    )


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (
            "http://head:8265",
            "--ray-address http://head:8265 is a web address (Ray's dashboard and job API), "
            "which a driver does not join (give the head node's HOST:PORT, e.g. HEAD:6379 "
            "(ray://HEAD:10001 for Ray Client))",
        ),
        (
            "fe80::1",
            "--ray-address fe80::1: an IPv6 host goes in brackets, before the port "
            "(e.g. [fe80::1]:6379)",
        ),
        (
            "[fe80::1]",
            "--ray-address [fe80::1]: an IPv6 host goes in brackets, before the port "
            "(e.g. [fe80::1]:6379)",
        ),
    ],
)
def test_an_address_of_no_form_ray_joins_is_refused_before_any_work(tmp_path, address, message):
    # They reached the resolver and came back as "name or service not known".
    from click.testing import CliRunner

    from lutkit.cli import main

    out = tmp_path / "ds"
    args = ["dataset", "build", "--source", "sample", "--out", str(out), "--engine", "ray"]
    result = CliRunner().invoke(main, [*args, "--ray-address", address])
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"
    assert not out.exists()


def test_the_api_refuses_such_an_address_before_any_work_too(tmp_path):
    pytest.importorskip("ray")
    src = make_sources(tmp_path / "src", bad=False)
    with pytest.raises(ConfigError, match="is a web address"):
        build(src, tmp_path / "ds", engine="ray", ray_address="http://head:8265")
    assert not (tmp_path / "ds").exists()
