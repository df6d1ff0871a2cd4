#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A checksummed TCP transfer for the net scenarios.

  tcpxfer.py serve PORT [--timeout S] [--cheap]
                                           accept one connection, read to EOF,
                                           print {"bytes": N, "sha256": HEX}
  tcpxfer.py send HOST PORT MIB [--timeout S] [--cheap]
                                           send MIB MiB of random data, print
                                           the same JSON for what was sent

--cheap (both sides) keeps the endpoints' CPU out of what is measured on slow
CPUs (a guest under QEMU's TCG: os.urandom 57 MiB/s, SHA-256 40 MiB/s, about
the network's best rate there): the data are 1 MiB windows at a different
offset for every MiB into one 4 MiB random block, and the digest is CRC-32
({"bytes": N, "crc32": N}).

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
import zlib


class Crc32:
    """hashlib's update/hexdigest over zlib.crc32 (--cheap)."""

    def __init__(self):
        self.v = 0

    def update(self, b):
        self.v = zlib.crc32(b, self.v)

    def hexdigest(self):
        return self.v


def digest(cheap):
    return (Crc32(), "crc32") if cheap else (hashlib.sha256(), "sha256")


def serve(port, timeout, cheap=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1)
    s.settimeout(timeout)
    # The listener is up: tell whoever waits for it (a line on stderr).
    print("listening", file=sys.stderr, flush=True)
    c, _ = s.accept()
    c.settimeout(timeout)
    (h, name), n, t0 = digest(cheap), 0, time.monotonic()
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    dt = time.monotonic() - t0
    print(json.dumps({"bytes": n, name: h.hexdigest(),
                      "mbit_s": round(n * 8 / dt / 1e6, 1) if dt > 0 else 0}))


def send(host, port, mib, timeout, cheap=False):
    deadline = time.monotonic() + timeout
    while True:
        try:
            c = socket.create_connection((host, port), timeout=timeout)
            break
        except (ConnectionRefusedError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    (h, name), n, t0 = digest(cheap), 0, time.monotonic()
    chunk = 1 << 20
    block = os.urandom(4 * chunk) * 2 if cheap else b""
    for i in range(mib):
        if cheap:
            off = (i * 1048583) % (4 * chunk)
            b = block[off:off + chunk]
        else:
            b = os.urandom(chunk)
        h.update(b)
        c.sendall(b)
        n += len(b)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()
    dt = time.monotonic() - t0
    print(json.dumps({"bytes": n, name: h.hexdigest(),
                      "mbit_s": round(n * 8 / dt / 1e6, 1) if dt > 0 else 0}))


def main(argv):
    timeout = 60.0
    if "--timeout" in argv:
        i = argv.index("--timeout")
        timeout = float(argv[i + 1])
        del argv[i:i + 2]
    cheap = "--cheap" in argv
    if cheap:
        argv.remove("--cheap")
    if len(argv) == 3 and argv[1] == "serve":
        serve(int(argv[2]), timeout, cheap)
    elif len(argv) == 5 and argv[1] == "send":
        send(argv[2], int(argv[3]), int(argv[4]), timeout, cheap)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
