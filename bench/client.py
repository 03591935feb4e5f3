#!/usr/bin/python3
"""Small HTTP/1.1 client of the Conduix benchmark (standard library only).

  client.py stream HOST PORT PATH --n N [--key K] --body-file F
      N streamed requests, one after the other on one keep-alive connection. For each:
      time to the first byte of the response, time to the first SSE event, total
      time, the number of events and how the events arrived: the number of socket
      reads that carried event data and the most events seen in one read. With a
      paced upstream (a pause after each event) a relay that writes each event on
      its own gives one read per event; one that buffers gives fewer, fatter reads.
      Prints one JSON document.

  client.py seq HOST PORT PATH --n N [--key K] --body-file F
      N requests one after the other on one keep-alive connection (callgrind runs);
      prints the status counts as JSON.
"""
import argparse
import json
import socket
import statistics
import sys
import time


class Conn:
    def __init__(self, host, port):
        self.addr = (host, port)
        self.sock = None
        self.buf = b""

    def open(self):
        self.sock = socket.create_connection(self.addr, timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


def nearest_rank(ordered, q):
    """The q-quantile of an ascending list, by nearest rank (bench/measure.py pools
    streams with the same rule)."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build_request(host, port, path, body, key):
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", "Accept: */*"]
    if key:
        head.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def exchange(conn, request):
    """Sends one request; returns a dict of timings (ns) and arrival statistics."""
    t0 = time.perf_counter_ns()
    if conn.sock is None:
        conn.open()
    conn.sock.sendall(request)
    first_byte = first_event = None
    reads_with_events = 0
    max_events_per_read = 0
    events = 0
    raw = b""          # undecoded bytes of this response
    headers = None
    body = b""         # decoded body
    pos = 0            # chunked decoding position in raw
    length = None
    chunked = False
    done = False
    while not done:
        data = conn.sock.recv(262144)
        now = time.perf_counter_ns()
        if not data:
            raise ConnectionError("server closed the connection mid-response")
        if first_byte is None:
            first_byte = now
        raw += data
        before = body.count(b"data: ")
        if headers is None:
            end = raw.find(b"\r\n\r\n")
            if end < 0:
                continue
            headers = raw[:end].decode("latin-1")
            pos = end + 4
            status = int(headers.split(" ", 2)[1])
            for line in headers.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                k = k.strip().lower()
                if k == "content-length":
                    length = int(v)
                elif k == "transfer-encoding" and "chunked" in v.lower():
                    chunked = True
        if chunked:
            while True:
                eol = raw.find(b"\r\n", pos)
                if eol < 0:
                    break
                size = int(raw[pos:eol].split(b";")[0], 16)
                if len(raw) < eol + 2 + size + 2:
                    break
                if size == 0:
                    # no trailers expected: the final CRLF follows the zero chunk
                    done = True
                    pos = eol + 4
                    break
                body += raw[eol + 2:eol + 2 + size]
                pos = eol + 2 + size + 2
        else:
            body = raw[pos:]
            done = length is not None and len(body) >= length
        n_new = body.count(b"data: ") - before
        if n_new > 0:
            if first_event is None:
                first_event = now
            reads_with_events += 1
            max_events_per_read = max(max_events_per_read, n_new)
            events += n_new
    conn.buf = raw[pos:] if chunked else b""
    if "connection: close" in headers.lower():
        conn.close()
    return {"status": status, "first_byte_ns": first_byte - t0,
            "first_event_ns": (first_event - t0) if first_event else None,
            "total_ns": time.perf_counter_ns() - t0, "events": events,
            "reads_with_events": reads_with_events, "max_events_per_read": max_events_per_read,
            "done": body.rstrip().endswith(b"data: [DONE]")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["stream", "seq"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("path")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--key", default="")
    ap.add_argument("--body-file", required=True)
    ap.add_argument("--fresh", action="store_true",
                    help="a new connection for every request (connect time is in every sample)")
    ap.add_argument("--gap-ms", type=float, default=0.0,
                    help="pause between streamed requests (the server settles first)")
    a = ap.parse_args()
    body = open(a.body_file, "rb").read()
    req = build_request(a.host, a.port, a.path, body, a.key)
    conn = Conn(a.host, a.port)
    if a.mode == "seq":
        statuses = {}
        for _ in range(a.n):
            r = exchange(conn, req)
            statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
        print(json.dumps({"statuses": statuses}))
        return 0
    for _ in range(a.warmup):
        exchange(conn, req)
    samples = []
    for _ in range(a.n):
        if a.gap_ms:
            time.sleep(a.gap_ms / 1000.0)
        if a.fresh:
            conn.close()
        samples.append(exchange(conn, req))
    ok = [s for s in samples if s["status"] == 200 and s["first_event_ns"] is not None]
    if not ok:
        print(json.dumps({"error": "no successful streamed response", "sample": samples[:1]}))
        return 1

    def med(key):
        return statistics.median(s[key] for s in ok) / 1000.0

    def pct(key, q):
        return nearest_rank(sorted(s[key] for s in ok), q) / 1000.0

    print(json.dumps({
        "n": len(samples), "ok": len(ok),
        "first_byte_us_p50": med("first_byte_ns"),
        "first_event_us_p50": med("first_event_ns"),
        "first_event_us_p90": pct("first_event_ns", 0.9),
        "first_event_us": [round(s["first_event_ns"] / 1000.0, 1) for s in ok],
        "total_us_p50": med("total_ns"),
        "events_min": min(s["events"] for s in ok),
        "events_max": max(s["events"] for s in ok),
        "reads_with_events_min": min(s["reads_with_events"] for s in ok),
        "reads_with_events_p50": statistics.median(s["reads_with_events"] for s in ok),
        "max_events_per_read": max(s["max_events_per_read"] for s in ok),
        "all_done": all(s["done"] for s in ok),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
