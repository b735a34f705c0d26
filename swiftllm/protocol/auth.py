"""The worker session token: who may open a session (`hello`) with a worker.

A worker started with a token answers a `hello` only if it carries the same token (compared in constant
time); any other hello gets an `Unauthorized` error reply and changes nothing: the session in place keeps
its epoch. The token never travels on a command line (any local user reads argv in /proc): a worker reads
it from the environment variable TOKEN_ENV or from a file only its owner can read (`--token-file`).
`swiftctl launch` always makes a fresh one per launch (ipc too) and hands it to its worker in the
environment. A worker without a token may bind only a local address (ipc://, inproc://, loopback tcp).

Plain stdlib: the controller imports this."""

import hmac
import ipaddress
import os
import secrets
import stat
from pathlib import Path

TOKEN_ENV = "SWIFTLLM_WORKER_TOKEN"
TOKEN_BYTES = 32


class TokenError(ValueError):
    """A token file that cannot be used (missing, empty, readable by others)."""


def new_token() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def read_token_file(path: str | Path) -> str:
    """The token in `path`; refused if the file is readable by group or others, or holds none."""
    try:
        # checked before it is read: /dev/zero (mode 0666) was read until memory ran out
        if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise TokenError(f"{path} is readable by others: chmod 600 it")
        token = Path(path).read_text().strip()
    except OSError as error:
        raise TokenError(f"cannot read the token file: {error}") from None
    if not token:
        raise TokenError(f"{path} holds no token")
    return token


def session_token(token_file: str | None) -> str | None:
    """The token in `token_file` if one is named, else $TOKEN_ENV's; None if neither (no token)."""
    return read_token_file(token_file) if token_file else (os.environ.get(TOKEN_ENV) or None)


def token_matches(given: object, expected: str) -> bool:
    """Constant-time comparison; anything but a string is no match."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode(errors="surrogatepass"), expected.encode())


def is_local_address(address: str) -> bool:
    """ipc://, inproc:// and tcp:// on a loopback address: reachable from this machine only."""
    scheme, _, rest = address.partition("://")
    if scheme != "tcp":
        return scheme in ("ipc", "inproc")
    # ::ffff:127.0.0.1 (IPv4 written as IPv6) read as the IPv4 address: Python 3.11 calls it no loopback
    host = rest.rsplit(":", 1)[0].strip("[]").removeprefix("::ffff:")
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # an interface name or "*": every address
        return False


def check_tcp_address(address: str | None) -> None:
    """Raise ValueError for a tcp:// address that ZeroMQ would misread: a port above 65,535 (it takes
    the port less 65,536) or an IPv6 host without its closing bracket (a connect to it waits forever),
    and an address of no transport at all (a worker bound it only once the model had loaded; without a
    token it was told a token was missing)."""
    if address is not None and "://" not in address:
        raise ValueError(f"{address!r} is no ZeroMQ address such as tcp://HOST:PORT or ipc://PATH")
    tcp = address is not None and address.startswith("tcp://")
    # any other address (or none) reads as host "" and port "*", which pass
    host, _, port = address.removeprefix("tcp://").rpartition(":") if tcp else ("", ":", "*")
    if port != "*" and not (port.isdigit() and int(port) < 65536):
        raise ValueError(f"{address}: the port must be in [0, 65535] or *")
    if host.startswith("[") != host.endswith("]"):
        raise ValueError(f"{address}: an IPv6 host goes in brackets, tcp://[host]:port")


def check_bind(address: str | None, token: str | None) -> None:
    """Raise ValueError for a worker that would bind an address others can reach without a token, an
    ipc:// path that holds something other than a socket (ZeroMQ would replace it: a file lost), or a
    tcp:// address that check_tcp_address refuses."""
    if address is not None and address.startswith("ipc://"):
        ipc_path = Path(address.removeprefix("ipc://"))
        if ipc_path.exists() and not ipc_path.is_socket():
            raise ValueError(f"refusing to bind {address}: {ipc_path} exists and is not a socket")
    check_tcp_address(address)
    if token is None and address is not None and not is_local_address(address):
        raise ValueError(
            f"refusing to bind {address} without a session token: whoever reaches it could take the "
            f"worker over (set ${TOKEN_ENV} or pass --token-file)"
        )
