"""A dual-stack TCP server for the example: answers each line with "pong".

    python3 server.py PORT

Listens on [::]:PORT (IPv4 too, as mapped addresses), prints "listening" once
it accepts connections, and serves one connection at a time until killed.
"""

from __future__ import annotations

import socket
import sys


def main() -> None:
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.bind(("::", port))
    server.listen(16)
    print("listening", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            if conn.makefile().readline():
                conn.sendall(b"pong\n")


if __name__ == "__main__":
    main()
