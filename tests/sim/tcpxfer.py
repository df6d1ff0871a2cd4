#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A checksummed TCP transfer for the net scenarios.

  tcpxfer.py serve PORT [--timeout S]      accept one connection, read to EOF,
                                           print {"bytes": N, "sha256": HEX}
  tcpxfer.py send HOST PORT MIB [--timeout S]
                                           send MIB MiB of random data, print
                                           the same JSON for what was sent

The scenario compares the two lines: same length, same digest, or the
transfer lost or corrupted data. Every socket operation has a timeout, so a
stalled path fails the run instead of hanging it.
"""
import hashlib
import json
import os
import socket
import sys
import time


def serve(port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1)
    s.settimeout(timeout)
    # The listener is up: tell whoever waits for it (a line on stderr).
    print("listening", file=sys.stderr, flush=True)
    c, _ = s.accept()
    c.settimeout(timeout)
    h, n, t0 = hashlib.sha256(), 0, time.monotonic()
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    dt = time.monotonic() - t0
    print(json.dumps({"bytes": n, "sha256": h.hexdigest(),
                      "mbit_s": round(n * 8 / dt / 1e6, 1) if dt > 0 else 0}))


def send(host, port, mib, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            c = socket.create_connection((host, port), timeout=timeout)
            break
        except (ConnectionRefusedError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    h, n, t0 = hashlib.sha256(), 0, time.monotonic()
    chunk = 1 << 20
    for _ in range(mib):
        b = os.urandom(chunk)
        h.update(b)
        c.sendall(b)
        n += len(b)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()
    dt = time.monotonic() - t0
    print(json.dumps({"bytes": n, "sha256": h.hexdigest(),
                      "mbit_s": round(n * 8 / dt / 1e6, 1) if dt > 0 else 0}))


def main(argv):
    timeout = 60.0
    if "--timeout" in argv:
        i = argv.index("--timeout")
        timeout = float(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) == 3 and argv[1] == "serve":
        serve(int(argv[2]), timeout)
    elif len(argv) == 5 and argv[1] == "send":
        send(argv[2], int(argv[3]), int(argv[4]), timeout)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
