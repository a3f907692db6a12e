#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A static HTTP server for lade's integration tests (standard library only).

  registry/httpserve.py DIR PORTFILE LOG

Serves DIR on a free loopback port (written to PORTFILE once listening). Every file gets an
ETag (its sha256, quoted) and a Last-Modified (its mtime); a GET whose If-None-Match names the
current ETag is answered 304. A missing file is 404, "/redirect/PATH" a 302 to "/PATH",
"/disposition/PATH" serves PATH with `Content-Disposition: attachment; filename="other.bin"`. Each
request is appended to LOG as "METHOD PATH STATUS". Dumb-HTTP git repositories (after
`git update-server-info`) are static files, so they are served too.
"""
import email.utils
import hashlib
import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    root = "."
    log = None

    def record(self, status):
        with open(Handler.log, "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path, status))

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", path[len("/redirect"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.record(302)
            return
        disposition = path.startswith("/disposition/")
        if disposition:
            path = path[len("/disposition"):]
        fs = os.path.join(Handler.root, path.lstrip("/"))
        if not os.path.isfile(fs):
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.record(404)
            return
        with open(fs, "rb") as f:
            data = f.read()
        etag = '"%s"' % hashlib.sha256(data).hexdigest()
        mtime = email.utils.formatdate(os.stat(fs).st_mtime, usegmt=True)
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            self.record(304)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", mtime)
        if disposition:
            self.send_header("Content-Disposition", 'attachment; filename="other.bin"')
        self.end_headers()
        self.wfile.write(data)
        self.record(200)

    def log_message(self, *args):
        pass


def main():
    Handler.root, portfile, Handler.log = sys.argv[1], sys.argv[2], sys.argv[3]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
