#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A static HTTP server on a free loopback port, for the cases' `http-serve DIR` (ADD of URLs and
of git repositories over git's dumb HTTP protocol).

  httpserve.py DIR PORTFILE

Serves DIR on 127.0.0.1, writes the port to PORTFILE once it listens, and runs until killed.
"""
import functools
import http.server
import os
import socketserver
import sys


class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):
        # HTTPServer's own looks the address up in DNS (socket.getfqdn), which can stall here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=argv[1])
    srv = Server(("127.0.0.1", 0), handler)
    with open(argv[2] + ".tmp", "w", encoding="ascii") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(argv[2] + ".tmp", argv[2])  # the runner sees the whole port or nothing
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
