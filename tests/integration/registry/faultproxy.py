#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A fault-injecting HTTP/1.1 loopback proxy for lade's registry tests (python3 stdlib).

    faultproxy.py --upstream HOST:PORT [--listen 127.0.0.1:0] [--port-file FILE] [--stats FILE]
                  [--log FILE] [--seed N] [--reset PCT] [--503 PCT] [--429 PCT] [--stall PCT]
                  [--fail-all] [--match ERE] [--max-consecutive N] [--max-faults N]
                  [--where before|mid|any]

Forwards requests to the upstream registry over one keep-alive upstream connection per client
connection. The client's Host header is passed through, so the registry builds its absolute
upload Locations with the proxy's address (any Location naming the upstream is rewritten too).
`Expect: 100-continue` is answered by the proxy itself.

On a share of the requests (a seeded RNG draws once per request) it injects a fault instead:

  reset  close the connection with a TCP RST: half of them before forwarding the request, half
         after forwarding it, in the middle of the response (head or body)
  503    answer 503 Service Unavailable (the request is not forwarded)
  429    answer 429 Too Many Requests with Retry-After: 1 (not forwarded)
  stall  stop answering until the client gives up: half before forwarding, half in the middle
         of the response

--fail-all answers 503 to everything. --match ERE limits faults to requests whose "METHOD PATH"
matches. --max-consecutive N (default 2, 0 = no limit): after N faults in a row on the same
METHOD and path, the next one passes, so a client with N retries always gets through.
--max-faults N: after N faults in all, everything passes (0 = no limit). --where picks when
resets and stalls strike: before forwarding, mid-response (after the registry acted on the
request) or either (default).

--stats FILE is a JSON object rewritten after each request: requests, connections, by_method,
statuses, faults {reset, 503, 429, stall}, body_bytes {METHOD: request body bytes forwarded},
upload_bytes (request body bytes forwarded to .../blobs/uploads/...), response_bytes {METHOD}.
--log FILE gets one line per request: METHOD PATH STATUS fault=F in=N out=N.
"""

import argparse
import json
import os
import random
import re
import select
import socket
import socketserver
import struct
import threading
import time

BUF = 65536


class Closed(Exception):
    """The client or the upstream went away."""


class Stats:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.data = {
            "requests": 0,
            "connections": 0,
            "by_method": {},
            "statuses": {},
            "faults": {"reset": 0, "503": 0, "429": 0, "stall": 0},
            "body_bytes": {},
            "upload_bytes": 0,
            "response_bytes": {},
        }
        self.write()

    def add(self, key, n=1, sub=None):
        with self.lock:
            if sub is None:
                self.data[key] += n
            else:
                self.data[key][sub] = self.data[key].get(sub, 0) + n

    def write(self):
        if not self.path:
            return
        with self.lock:
            text = json.dumps(self.data, sort_keys=True)
            tmp = "%s.%d.tmp" % (self.path, threading.get_ident())
            with open(tmp, "w") as f:
                f.write(text + "\n")
            os.rename(tmp, self.path)


class Faults:
    def __init__(self, args):
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.shares = [("reset", args.reset), ("503", args.e503), ("429", args.e429), ("stall", args.stall)]
        self.fail_all = args.fail_all
        self.match = re.compile(args.match) if args.match else None
        self.max_consecutive = args.max_consecutive
        self.max_faults = args.max_faults
        self.where = args.where
        self.injected = 0
        self.streak = {}

    def choose(self, method, path):
        """None, or (fault, where) with where "before" or "mid"."""
        if self.fail_all:
            return ("503", "before")
        key = method + " " + path.split("?", 1)[0]
        if self.match and not self.match.search(method + " " + path):
            return None
        with self.lock:
            draw, where = self.rng.random() * 100, self.rng.choice(("before", "mid"))
            fault, total = None, 0.0
            for name, pct in self.shares:
                total += pct
                if draw < total:
                    fault = name
                    break
            if fault and self.max_consecutive and self.streak.get(key, 0) >= self.max_consecutive:
                fault = None
            if fault and self.max_faults and self.injected >= self.max_faults:
                fault = None
            self.streak[key] = self.streak.get(key, 0) + 1 if fault else 0
            self.injected += 1 if fault else 0
        if self.where != "any":
            where = self.where
        if fault in ("503", "429"):
            where = "before"
        return (fault, where) if fault else None


def read_head(reader):
    """The lines of an HTTP head (start line first), None at a clean EOF before it."""
    lines = []
    while True:
        line = reader.readline(BUF)
        if not line:
            if lines:
                raise Closed("EOF inside a head")
            return None
        if line in (b"\r\n", b"\n"):
            if not lines:
                continue  # tolerate stray CRLF between requests
            return lines
        lines.append(line.rstrip(b"\r\n").decode("latin-1"))


def header(headers, name):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v.strip()
    return None


def parse_headers(lines):
    out = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        out.append((k.strip(), v.strip()))
    return out


def head_bytes(start, headers):
    return (start + "\r\n" + "".join("%s: %s\r\n" % kv for kv in headers) + "\r\n").encode("latin-1")


def relay_body(reader, out, headers, counter, limit=None):
    """Copies a message body framed by headers (Content-Length or chunked) from reader to out
    (None: discard). Returns the data bytes copied; stops early after `limit` data bytes."""
    te = (header(headers, "Transfer-Encoding") or "").lower()
    done = 0
    if "chunked" in te:
        while True:
            line = reader.readline(BUF)
            if not line:
                raise Closed("EOF in chunked body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if out:
                out.sendall(line)
            if size == 0:
                while True:  # trailers up to the empty line
                    t = reader.readline(BUF)
                    if not t:
                        raise Closed("EOF in trailers")
                    if out:
                        out.sendall(t)
                    if t in (b"\r\n", b"\n"):
                        return done
            left = size
            while left:
                chunk = reader.read(min(BUF, left))
                if not chunk:
                    raise Closed("EOF in chunk")
                if out:
                    out.sendall(chunk)
                left -= len(chunk)
                done += len(chunk)
                counter(len(chunk))
                if limit is not None and done >= limit:
                    return done
            crlf = reader.readline(BUF)
            if out:
                out.sendall(crlf)
    length = header(headers, "Content-Length")
    left = int(length) if length else 0
    while left:
        want = min(BUF, left)
        if limit is not None:
            want = min(want, max(1, limit - done))
        chunk = reader.read(want)
        if not chunk:
            raise Closed("EOF in body")
        if out:
            out.sendall(chunk)
        left -= len(chunk)
        done += len(chunk)
        counter(len(chunk))
        if limit is not None and done >= limit:
            return done
    return done


def has_body(headers):
    te = (header(headers, "Transfer-Encoding") or "").lower()
    return "chunked" in te or int(header(headers, "Content-Length") or 0) > 0


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def stall(sock, reader):
    """Never answers: reads and drops whatever the client sends until it hangs up."""
    try:
        while reader.read1(BUF):
            pass
    except (OSError, ValueError):
        pass
    sock.close()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        srv.stats.add("connections")
        client = self.request
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = client.makefile("rb")
        self.upstream = None
        try:
            # A TLS ClientHello (clients like skopeo try HTTPS first): refuse at once, as the
            # registry itself does, so they fall back to plain HTTP without waiting for a timeout.
            if client.recv(1, socket.MSG_PEEK) == b"\x16":
                client.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
                return
            while self.one_request(client, reader):
                pass
        except (Closed, OSError, ValueError):
            pass
        finally:
            self.close_upstream()
            try:
                client.close()
            except OSError:
                pass
            srv.stats.write()

    def close_upstream(self):
        if self.upstream:
            try:
                self.upstream[0].close()
            except OSError:
                pass
            self.upstream = None

    def connect_upstream(self):
        """The upstream connection, reopened when the registry closed the idle one."""
        if self.upstream:
            ready, _, _ = select.select([self.upstream[0]], [], [], 0)
            if ready:  # EOF or stray bytes on an idle connection: start afresh
                self.close_upstream()
        if not self.upstream:
            sock = socket.create_connection(self.server.upstream_addr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.upstream = (sock, sock.makefile("rb"))
        return self.upstream

    def one_request(self, client, reader):
        """Serves one request; False when the client connection is done."""
        srv = self.server
        lines = read_head(reader)
        if lines is None:
            return False
        method, target, version = (lines[0].split(" ") + ["", ""])[:3]
        headers = parse_headers(lines)
        srv.stats.add("requests")
        srv.stats.add("by_method", sub=method)
        fault = srv.faults.choose(method, target)
        expect = (header(headers, "Expect") or "").lower() == "100-continue"
        record = {"in": 0, "out": 0, "status": "-", "fault": fault[0] + "-" + fault[1] if fault else "-"}

        def done(keep):
            srv.log("%s %s %s fault=%s in=%d out=%d" % (method, target, record["status"], record["fault"], record["in"], record["out"]))
            srv.stats.write()
            return keep

        if fault:
            srv.stats.add("faults", sub=fault[0])
        if fault == ("reset", "before"):
            reset(client)
            return done(False)
        if fault == ("stall", "before"):
            srv.stats.write()
            stall(client, reader)
            return done(False)
        if fault and fault[0] in ("503", "429"):
            record["status"] = fault[0]
            keep = not expect  # an unread body we were told to wait for: close instead
            if keep:
                relay_body(reader, None, headers, lambda n: None)
            body = json.dumps(
                {"errors": [{"code": "UNAVAILABLE" if fault[0] == "503" else "TOOMANYREQUESTS", "message": "injected fault " + fault[0]}]}
            ).encode()
            extra = [("Retry-After", "1")] if fault[0] == "429" else []
            reason = "Service Unavailable" if fault[0] == "503" else "Too Many Requests"
            hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))] + extra
            hdrs.append(("Connection", "keep-alive" if keep else "close"))
            client.sendall(head_bytes("HTTP/1.1 %s %s" % (fault[0], reason), hdrs) + body)
            return done(keep)

        # Forward the request.
        if expect:
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        up, up_reader = self.connect_upstream()
        fwd = [(k, v) for k, v in headers if k.lower() != "expect"]
        up.sendall(head_bytes(lines[0], fwd))
        upload = "/blobs/uploads/" in target

        def count_in(n):
            record["in"] += n
            srv.stats.add("body_bytes", n, sub=method)
            if upload:
                srv.stats.add("upload_bytes", n)

        relay_body(reader, up, headers, count_in)

        resp = read_head(up_reader)
        while resp is not None and resp[0].split(" ")[1:2] and resp[0].split(" ")[1].startswith("1"):
            client.sendall(head_bytes(resp[0], parse_headers(resp)))  # interim 1xx
            resp = read_head(up_reader)
        if resp is None:
            raise Closed("upstream closed without answering")
        status = resp[0].split(" ")[1]
        record["status"] = status
        srv.stats.add("statuses", sub=status)
        rheaders = []
        for k, v in parse_headers(resp):
            if k.lower() == "location" and srv.upstream_host in v:
                v = v.replace(srv.upstream_host, header(headers, "Host") or srv.listen_host)
            rheaders.append((k, v))
        head = head_bytes(resp[0], rheaders)
        bodyless = method == "HEAD" or status in ("204", "304")
        framed = header(rheaders, "Content-Length") is not None or "chunked" in (header(rheaders, "Transfer-Encoding") or "").lower()

        def count_out(n):
            record["out"] += n
            srv.stats.add("response_bytes", n, sub=method)

        if fault:  # reset or stall in the middle of the response
            length = int(header(rheaders, "Content-Length") or 0)
            if bodyless or length == 0:
                client.sendall(head[: len(head) // 2])
            else:
                client.sendall(head)
                relay_body(up_reader, client, rheaders, count_out, limit=length // 2)
            self.close_upstream()
            if fault[0] == "reset":
                reset(client)
            else:
                srv.stats.write()
                stall(client, reader)
            return done(False)

        client.sendall(head)
        if not bodyless:
            if framed:
                relay_body(up_reader, client, rheaders, count_out)
            else:  # delimited by the end of the connection
                while True:
                    chunk = up_reader.read1(BUF)
                    if not chunk:
                        break
                    client.sendall(chunk)
                    count_out(len(chunk))
                self.close_upstream()
                return done(False)
        close = "close" in (header(rheaders, "Connection") or "").lower() or "close" in (header(headers, "Connection") or "").lower()
        if close or version == "HTTP/1.0" or not framed and not bodyless:
            self.close_upstream()
            return done(False)
        return done(True)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def log(self, line):
        if not self.log_path:
            return
        with self.log_lock, open(self.log_path, "a") as f:
            f.write("%.3f %s\n" % (time.time(), line))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the registry")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file")
    ap.add_argument("--stats")
    ap.add_argument("--log")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reset", type=float, default=0)
    ap.add_argument("--503", dest="e503", type=float, default=0)
    ap.add_argument("--429", dest="e429", type=float, default=0)
    ap.add_argument("--stall", type=float, default=0)
    ap.add_argument("--fail-all", action="store_true")
    ap.add_argument("--match")
    ap.add_argument("--max-consecutive", type=int, default=2)
    ap.add_argument("--max-faults", type=int, default=0)
    ap.add_argument("--where", choices=("before", "mid", "any"), default="any")
    args = ap.parse_args()

    host, _, port = args.listen.rpartition(":")
    server = Server((host, int(port)), Handler)
    uhost, _, uport = args.upstream.rpartition(":")
    server.upstream_addr = (uhost, int(uport))
    server.upstream_host = args.upstream
    server.listen_host = "%s:%d" % server.server_address[:2]
    server.stats = Stats(args.stats)
    server.faults = Faults(args)
    server.log_path = args.log
    server.log_lock = threading.Lock()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
