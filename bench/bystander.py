#!/usr/bin/env python3
"""The bystander of bench/run's isolation scenario: one IMAP session that sends NOOP every
10 ms and records how long each took to answer.

    bench/bystander.py --port PORT --user USER --password PW [--mailbox INBOX] [--period-ms 10]

Connects to 127.0.0.1:PORT, LOGIN, SELECT the mailbox, writes "ready" on stdout, then on every
tick of a 10 ms grid: NOOP, read to its tagged reply, sleep until the next tick (ticks missed
while waiting for a reply are skipped, not made up). A line on stdin (or its end) stops it; it
then LOGOUTs and writes one JSON object on stdout:

    samples   [[t_send, latency_ms], ...]  t_send on CLOCK_MONOTONIC (time.monotonic(): the same
                                           clock as the harness's, so it can cut out its window)
    late_ms   [how late each NOOP went out after its tick, ...]: the client's own jitter
    missed    ticks skipped because a reply came after the next tick
    errors    ["...", ...]  a NOOP not answered OK, a lost connection
    rt        true if it ran at real-time priority (SCHED_FIFO)

It is a process of its own, not a thread of bench/run, so the harness's Python (GIL, /proc
sampling, spawning deliveries) cannot delay it; as root it runs SCHED_FIFO, so neither can the
load on the machine's cores: what is left of its own delay is in late_ms.
"""

import argparse
import json
import os
import select
import socket
import sys
import time


def read_line(sock, buf):
    """One CRLF line from sock (buf: bytes already read). Returns (line, rest)."""
    while True:
        i = buf.find(b"\r\n")
        if i >= 0:
            return buf[:i], buf[i + 2:]
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("connection closed by the server")
        buf += chunk


def command(sock, buf, tag, text):
    """Sends one command, reads to its tagged line. Returns (status, text, rest of buf)."""
    sock.sendall(b"%s %s\r\n" % (tag, text))
    while True:
        line, buf = read_line(sock, buf)
        if line.startswith(tag + b" "):
            status, _, rest = line[len(tag) + 1:].partition(b" ")
            return status.upper().decode(errors="replace"), rest.decode(errors="replace"), buf


def realtime():
    """SCHED_FIFO at the lowest real-time priority, when allowed (root): the bystander then
    wakes on time whatever else runs; it uses a few percent of a core."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        return True
    except (OSError, AttributeError):
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--mailbox", default="INBOX")
    ap.add_argument("--period-ms", type=float, default=10.0)
    a = ap.parse_args()
    out = {"samples": [], "late_ms": [], "missed": 0, "errors": [], "rt": realtime()}
    period = a.period_ms / 1000
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=300)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    greeting, buf = read_line(sock, b"")
    if not greeting.startswith(b"* OK"):
        sys.exit("bystander: greeting %r" % greeting[:100])
    for tag, text in ((b"l", 'LOGIN %s "%s"' % (a.user, a.password)), (b"s", 'SELECT "%s"' % a.mailbox)):
        status, rest, buf = command(sock, buf, tag, text.encode())
        if status != "OK":
            sys.exit("bystander: %s: %s %s" % (text.split()[0], status, rest[:200]))
    print("ready", flush=True)
    n, stdin = 0, sys.stdin.fileno()
    tick = time.monotonic()
    try:
        while True:
            wait = tick - time.monotonic()
            # The sleep is a wait on stdin, so "stop" is seen at once.
            if select.select([stdin], [], [], max(0.0, wait))[0]:
                break
            t0 = time.monotonic()
            n += 1
            status, rest, buf = command(sock, buf, b"n%d" % n, b"NOOP")
            t1 = time.monotonic()
            out["samples"].append([round(t0, 6), round((t1 - t0) * 1000, 3)])
            out["late_ms"].append(round((t0 - tick) * 1000, 3))
            if status != "OK" and len(out["errors"]) < 5:
                out["errors"].append("NOOP: %s %s" % (status, rest[:200]))
            tick += period
            if tick < t1:  # the reply came after the next tick: skip to the first tick ahead
                skipped = int((t1 - tick) / period) + 1
                out["missed"] += skipped
                tick += skipped * period
        command(sock, buf, b"o", b"LOGOUT")
    except OSError as e:
        out["errors"].append("%s: %s" % (type(e).__name__, e))
    sock.close()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
