#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A small Docker registry token server for lade's integration tests (python3 stdlib + openssl).

    token_issuer.py --key KEY.pem --cert CERT.pem --port-file FILE [--listen 127.0.0.1:0]
                    [--user USER:PASS]... [--issuer NAME] [--expires SECONDS]
                    [--anonymous-pull] [--log FILE]

Serves the token endpoint of the Docker registry token authentication specification:
GET /token?service=S&scope=repository:NAME:ACTIONS (scope may repeat, or hold several
space-separated scopes), and the OAuth2 form POST /token (grant_type=password). Credentials come
as HTTP Basic (GET) or form fields (POST) and are checked against the --user entries:

- no credentials: a token with empty access (or pull only with --anonymous-pull);
- a known user with the right password: every action it asked for;
- anything else: 401 with a JSON error.

The token is a JWT signed RS256 with `openssl dgst -sha256 -sign KEY`; its header carries x5c
(the certificate, base64 DER), which distribution 2.8 checks against its rootcertbundle. Claims:
iss, sub, aud (the service asked for), exp, nbf, iat, jti, access.

Each request is logged as one JSON line in --log (never the password or the token):
{"time", "method", "account", "service", "scopes", "granted", "status"}, so tests can count how
many tokens a client asked for. The chosen port is written to --port-file once listening.
"""

import argparse
import base64
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der_b64(cert_path):
    der = subprocess.run(
        ["openssl", "x509", "-in", cert_path, "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return base64.b64encode(der).decode()


def sign_rs256(key_path, data):
    return subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", key_path],
        input=data,
        check=True,
        capture_output=True,
    ).stdout


def parse_scopes(values):
    """repository:NAME:pull,push (NAME may hold ':' for a port) -> list of access entries."""
    out = []
    for value in values:
        for scope in value.split():
            typ, sep, rest = scope.partition(":")
            name, sep2, actions = rest.rpartition(":")
            if not sep or not sep2 or not name:
                continue
            out.append({"type": typ, "name": name, "actions": [a for a in actions.split(",") if a]})
    return out


class Issuer:
    def __init__(self, args):
        self.key = args.key
        self.x5c = [cert_der_b64(args.cert)]
        self.issuer = args.issuer
        self.expires = args.expires
        self.anonymous_pull = args.anonymous_pull
        self.users = {}
        for entry in args.user or []:
            user, sep, password = entry.partition(":")
            if not sep:
                sys.exit("token_issuer: --user wants USER:PASS")
            self.users[user] = password
        self.log_path = args.log
        self.log_lock = threading.Lock()

    def authenticate(self, user, password):
        """The account name, "" for anonymous, None for refused credentials."""
        if user is None:
            return ""
        want = self.users.get(user)
        if want is None or not secrets.compare_digest(want.encode(), (password or "").encode()):
            return None
        return user

    def grant(self, account, requested):
        granted = []
        for entry in requested:
            if account:
                actions = entry["actions"]
            elif self.anonymous_pull:
                actions = [a for a in entry["actions"] if a == "pull"]
            else:
                actions = []
            if actions:
                granted.append(dict(entry, actions=actions))
        return granted

    def token(self, account, service, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        claims = {
            "iss": self.issuer,
            "sub": account,
            "aud": service,
            "exp": now + self.expires,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        signature = sign_rs256(self.key, signing_input)
        return signing_input.decode() + "." + b64url(signature), now

    def log(self, record):
        if not self.log_path:
            return
        record = dict(record, time=time.time())
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(record) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lade-test-token-issuer"

    def log_message(self, fmt, *args):  # quiet: the JSON log says what happened
        pass

    def reply(self, status, body, extra_headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def basic_credentials(self):
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return None, None
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "", None
        return user, password

    def issue(self, method, user, password, service, scope_values):
        issuer = self.server.issuer
        requested = parse_scopes(scope_values)
        account = issuer.authenticate(user, password)
        record = {"method": method, "account": user or "", "service": service, "scopes": scope_values}
        if account is None:
            issuer.log(dict(record, granted=[], status=401))
            self.reply(
                401,
                {"errors": [{"code": "UNAUTHORIZED", "message": "invalid username or password"}]},
                [("WWW-Authenticate", 'Basic realm="lade-test-token-issuer"')],
            )
            return
        access = issuer.grant(account, requested)
        token, issued = issuer.token(account, service, access)
        issuer.log(dict(record, granted=access, status=200))
        self.reply(
            200,
            {
                "token": token,
                "access_token": token,
                "expires_in": issuer.expires,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued)),
            },
        )

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
            return
        query = urllib.parse.parse_qs(url.query)
        user, password = self.basic_credentials()
        self.issue("GET", user, password, query.get("service", [""])[0], query.get("scope", []))

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if url.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
            return
        if form.get("grant_type", [""])[0] != "password":
            self.reply(400, {"error": "unsupported_grant_type"})
            return
        self.issue(
            "POST",
            form.get("username", [None])[0],
            form.get("password", [""])[0],
            form.get("service", [""])[0],
            form.get("scope", []),
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--user", action="append", help="USER:PASS (repeatable)")
    ap.add_argument("--issuer", default="lade-test-issuer")
    ap.add_argument("--expires", type=int, default=300)
    ap.add_argument("--anonymous-pull", action="store_true")
    ap.add_argument("--log")
    args = ap.parse_args()

    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    server.issuer = Issuer(args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
