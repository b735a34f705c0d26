"""The worker session token's helpers: files only their owner reads, local addresses, comparisons."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_token_file

from swiftllm.protocol.auth import (
    TokenError,
    check_bind,
    check_tcp_address,
    is_local_address,
    new_token,
    read_token_file,
    token_matches,
)


def test_token_files_are_private_and_read_back(tmp_path: Path) -> None:
    token = new_token()
    assert len(token) == 64 and token != new_token()
    path = write_token_file(tmp_path / "token", token)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_token_file(path) == token
    path.chmod(0o640)
    with pytest.raises(TokenError, match="readable by others"):
        read_token_file(path)
    empty = write_token_file(tmp_path / "empty", "")
    with pytest.raises(TokenError, match="holds no token"):
        read_token_file(empty)
    with pytest.raises(TokenError):
        read_token_file(tmp_path / "missing")


def test_a_token_file_readable_by_others_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """Session 67's hunt: the file was read first, so `--token-file /dev/zero` (mode 0666) read until
    memory ran out, and a FIFO waited forever; one that is not UTF-8 stands for them here."""
    path = tmp_path / "token"
    path.write_bytes(b"\xff\xfe")
    path.chmod(0o644)
    with pytest.raises(TokenError, match="readable by others"):
        read_token_file(path)


@pytest.mark.parametrize(
    "address, local",
    [
        ("ipc:///tmp/x/worker0.sock", True),
        ("inproc://a", True),
        ("tcp://127.0.0.1:5555", True),
        ("tcp://127.8.0.1:5555", True),
        ("tcp://[::1]:5555", True),
        ("tcp://[::ffff:127.0.0.1]:5555", True),  # session 48's probe: taken for non-local
        ("tcp://[::ffff:10.0.0.2]:5555", False),
        ("tcp://[::]:5555", False),
        ("tcp://localhost:5555", True),
        ("tcp://0.0.0.0:5555", False),
        ("tcp://*:5555", False),
        ("tcp://eth0:5555", False),
        ("tcp://10.0.0.2:5555", False),
        ("udp://127.0.0.1:1", False),
    ],
)
def test_local_addresses(address: str, local: bool) -> None:
    assert is_local_address(address) is local
    if local:
        check_bind(address, None)
    else:
        with pytest.raises(ValueError, match="without a session token"):
            check_bind(address, None)
    check_bind(address, "token")  # with a token any address may be bound


def test_an_ipc_path_holding_a_file_is_refused_not_replaced(tmp_path: Path) -> None:
    """Session 42's fuzzing: `swiftctl worker --bind ipc://PATH` replaced a file at PATH with its socket."""
    import socket

    precious = tmp_path / "config.json"
    precious.write_text("{}")
    for token in (None, "token"):
        with pytest.raises(ValueError, match="exists and is not a socket"):
            check_bind(f"ipc://{precious}", token)
    assert precious.read_text() == "{}"
    # a socket left by an earlier worker (killed: its file stays) may be bound again, as may a new path
    left = socket.socket(socket.AF_UNIX)
    left.bind(str(tmp_path / "worker.sock"))
    left.close()
    assert (tmp_path / "worker.sock").is_socket()
    check_bind(f"ipc://{tmp_path / 'worker.sock'}", None)
    check_bind(f"ipc://{tmp_path / 'new.sock'}", None)


def test_token_comparison() -> None:
    assert token_matches("abc", "abc")
    for given in ("abd", "", None, 12, b"abc", ["abc"], "\ud800"):
        assert not token_matches(given, "abc")


@pytest.mark.parametrize("port", ["65536", "99999", "-1", "80a", ""])
def test_a_tcp_port_out_of_range_is_refused(port: str) -> None:
    """Session 42's fuzzing: `--bind tcp://127.0.0.1:99999` listened on port 99999 - 65536."""
    for token in (None, "token"):
        with pytest.raises(ValueError, match=r"the port must be in \[0, 65535\] or \*"):
            check_bind(f"tcp://127.0.0.1:{port}", token)
    for port in ("0", "65535", "*"):  # 0 and * pick a free port
        check_bind(f"tcp://127.0.0.1:{port}", None)


@pytest.mark.parametrize("address", ["tcp://[::1:5555", "tcp://::1]:5555", "tcp://[::1]5555:1"])
def test_an_ipv6_host_without_its_brackets_is_refused(address: str) -> None:
    """Session 48's probe: `tcp://[::1:5555` waited out the 300 s attach (connect) or got ZeroMQ's
    words after the model had loaded (bind)."""
    for token in (None, "token"):
        with pytest.raises(ValueError, match="an IPv6 host goes in brackets"):
            check_bind(address, token)
    check_bind("tcp://[::1]:5555", None)


def test_an_address_of_no_transport_is_refused_naming_it() -> None:
    """A string without "://" is no ZeroMQ address: refused in words that name it and the forms expected."""
    with pytest.raises(ValueError, match=r"'garbage' is no ZeroMQ address such as tcp://HOST:PORT"):
        check_tcp_address("garbage")
    check_tcp_address(None)  # no address (the default) passes
