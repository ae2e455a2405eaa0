"""A stand-in for Railway's GraphQL API and for a generic REST API, over TLS.

Railway is a third party the test machine cannot reach, so this plays it: it answers the calls
Airlock's Railway pack and an agent make, checks the credential it receives, and appends one JSON
line per call to a log the test reads (which operations, in what order, and whether the credential
was the real one — never the credential itself).

usage: standin.py CERT KEY LOG PORT_FILE EXPECTED_SECRET_FILE
"""

import json
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CERT, KEY, LOG, PORT_FILE, SECRET_FILE = sys.argv[1:6]
SECRET = open(SECRET_FILE).read().strip()
LOCK = threading.Lock()
BACKUPS = [{"id": "bk_old", "createdAt": "2026-01-01T00:00:00Z"}]
VOLUMES = {"vol_prod": True}

FIELD = re.compile(r"\b(volumeDelete|volumeInstanceBackupCreate|volumeInstanceBackupList|volumeInstanceBackupLock|volumeInstanceBackupRestore|workflowStatus|volume|me|echoHeaders|serviceMigrate|projects)\b")


def log(entry):
    with LOCK, open(LOG, "a") as f:
        f.write(json.dumps(entry) + "\n")


def auth_state(header):
    if header is None:
        return "missing"
    if header == "Bearer " + SECRET:
        return "real"
    if "alk_" in header:
        return "airlock-token"
    return "wrong"


def answer_graphql(query, variables, headers):
    fields = FIELD.findall(query)
    data = {}
    for f in fields:
        if f == "volume" and "volumeInstances" in query:
            data["volume"] = {"volumeInstances": {"edges": [{"node": {"id": "vi_prod"}}]}}
        elif f == "volumeInstanceBackupCreate":
            with LOCK:
                BACKUPS.append({"id": "bk_new", "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            data[f] = {"workflowId": "wf_backup"}
        elif f == "workflowStatus":
            data[f] = {"status": "Complete"}
        elif f == "volumeInstanceBackupList":
            data[f] = list(BACKUPS)
        elif f == "volumeInstanceBackupLock":
            data[f] = True
        elif f == "volumeDelete":
            VOLUMES.pop(variables.get("id", variables.get("volumeId", "vol_prod")), None)
            data[f] = True
        elif f == "volumeInstanceBackupRestore":
            data[f] = {"workflowId": "wf_restore"}
        elif f == "me":
            data[f] = {"name": "stand-in", "volumes": sorted(VOLUMES)}
        elif f == "echoHeaders":
            # An API that echoes what it was sent (a debug endpoint): the gateway must mask it.
            data[f] = {k.lower(): v for k, v in headers.items()}
    return fields, {"data": data}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        raw = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = auth_state(self.headers.get("Authorization"))
        if self.path.startswith("/graphql"):
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                req = {}
            fields, out = answer_graphql(req.get("query", ""), req.get("variables") or {}, self.headers)
            log({"api": "graphql", "fields": fields, "variables": req.get("variables") or {}, "auth": auth})
            if auth != "real":
                return self.reply(401, {"errors": [{"message": "Not Authorized"}]})
            return self.reply(200, out)
        log({"api": "rest", "method": self.command, "path": self.path, "auth": auth})
        if auth != "real":
            return self.reply(401, {"error": "unauthorized"})
        if self.command == "DELETE":
            return self.reply(200, {"deleted": self.path})
        return self.reply(200, {"items": [{"id": "p1"}], "path": self.path})

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = handle_any


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
