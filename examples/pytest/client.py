"""A small TCP client that prefers IPv6 and falls back to IPv4 (the example under test).

    python3 client.py HOST PORT [--fallback-ms N]

Resolves HOST, tries each IPv6 address first with a connect deadline of N
milliseconds (default 250), then each IPv4 address; sends "ping", prints the
reply, the family that answered and how long connecting took, as one line of
JSON.  Exits 1 when no address answered.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time


def connect(host: str, port: int, fallback_ms: int, total_s: float = 10.0):
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    ordered = [i for i in infos if i[0] == socket.AF_INET6] + [
        i for i in infos if i[0] == socket.AF_INET
    ]
    started = time.monotonic()
    errors = []
    for family, kind, proto, _, address in ordered:
        # IPv6 gets the fallback deadline; the last resort gets the rest.
        budget = fallback_ms / 1000 if family == socket.AF_INET6 else total_s
        sock = socket.socket(family, kind, proto)
        sock.settimeout(budget)
        try:
            sock.connect(address)
        except OSError as err:
            sock.close()
            errors.append(f"{address[0]}: {err.strerror or err}")
            continue
        return sock, family, time.monotonic() - started
    raise ConnectionError("; ".join(errors) or f"{host}: no address")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--fallback-ms", type=int, default=250)
    args = parser.parse_args(argv)
    try:
        sock, family, elapsed = connect(args.host, args.port, args.fallback_ms)
    except ConnectionError as err:
        print(json.dumps({"error": str(err)}))
        return 1
    with sock:
        sock.settimeout(10)
        sock.sendall(b"ping\n")
        reply = sock.makefile().readline().strip()
    print(
        json.dumps(
            {
                "reply": reply,
                "family": "IPv6" if family == socket.AF_INET6 else "IPv4",
                "connect_ms": round(elapsed * 1000, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
