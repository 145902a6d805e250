#!/usr/bin/env python3
"""Floods one endpoint with unauthenticated requests from one client address (issue #20,
item 5) and reports what the server did with them.

    scripts/bench/unauth-flood.py --url http://127.0.0.1:8000 --seconds 10 \
        --log /tmp/eventchat.log [--token JWT]

Each of --threads connections (keep-alive, HTTP/1.1, from 127.0.0.1) posts a ChatKit
`threads.list` with a bad bearer token for --seconds and counts the statuses. With --token,
one more connection from a second loopback address (127.0.0.2, so a per-address limit does
not apply to it) sends the same request with that valid token every 250 ms (under the
per-user limit) and reports its latency: what a real user sees during the flood. --log is
the file the server's stderr goes to; its growth during the flood is reported. Standard
library only; bounded by --seconds (every socket has a 5 s timeout).
"""

import argparse
import http.client
import json
import os
import statistics
import threading
import time
import urllib.parse

BODY = json.dumps({"type": "threads.list", "params": {}}).encode()


def flood(host, port, path, deadline, counts, lock):
    conn = http.client.HTTPConnection(host, port, timeout=5, source_address=("127.0.0.1", 0))
    local = {}
    headers = {
        "Authorization": "Bearer not-a-valid-token",
        "Content-Type": "application/json",
        "User-Agent": "unauth-flood/1.0 (issue 20 item 5)",
    }
    while time.monotonic() < deadline:
        try:
            conn.request("POST", path, BODY, headers)
            resp = conn.getresponse()
            resp.read()
            local[resp.status] = local.get(resp.status, 0) + 1
            if resp.getheader("connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            local["error"] = local.get("error", 0) + 1
            conn.close()
    conn.close()
    with lock:
        for k, v in local.items():
            counts[k] = counts.get(k, 0) + v


def probe(host, port, path, token, deadline, latencies, statuses):
    conn = http.client.HTTPConnection(host, port, timeout=5, source_address=("127.0.0.2", 0))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    while time.monotonic() < deadline:
        start = time.monotonic()
        try:
            conn.request("POST", path, BODY, headers)
            resp = conn.getresponse()
            resp.read()
            latencies.append((time.monotonic() - start) * 1000)
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
        except (OSError, http.client.HTTPException):
            statuses["error"] = statuses.get("error", 0) + 1
            conn.close()
        time.sleep(0.25)
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--path", default="/api/chatkit")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--log", help="the server's log file (its growth is reported)")
    ap.add_argument("--token", help="a valid token for the latency probe")
    args = ap.parse_args()
    url = urllib.parse.urlparse(args.url)
    host, port = url.hostname, url.port or 80
    size = lambda: os.path.getsize(args.log) if args.log else 0  # noqa: E731
    before = size()
    counts, lock = {}, threading.Lock()
    latencies, probe_statuses = [], {}
    deadline = time.monotonic() + args.seconds
    workers = [
        threading.Thread(target=flood, args=(host, port, args.path, deadline, counts, lock))
        for _ in range(args.threads)
    ]
    if args.token:
        workers.append(
            threading.Thread(
                target=probe,
                args=(host, port, args.path, args.token, deadline, latencies, probe_statuses),
            )
        )
    for w in workers:
        w.start()
    for w in workers:
        w.join(args.seconds + 10)
    time.sleep(0.5)  # let the server finish writing its last lines
    grown = size() - before
    total = sum(v for k, v in counts.items() if k != "error")
    report = {
        "seconds": args.seconds,
        "requests_answered": total,
        "by_status": {str(k): v for k, v in sorted(counts.items(), key=str)},
        "log_bytes": grown,
        "log_bytes_per_request": round(grown / total, 1) if total else None,
    }
    if args.token:
        report["probe"] = {
            "by_status": {str(k): v for k, v in probe_statuses.items()},
            "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
            "latency_ms_max": round(max(latencies), 2) if latencies else None,
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
