"""An HTTP/JSON API written only for the rest plugin's tests: well-behaved routes, and routes that
misbehave on purpose. Python's standard library only.

Usage: rest_server.py --port N [--cert PEM --key PEM]. Binds 127.0.0.1; with a certificate and
its key, speaks HTTPS. Prints "ready PORT" once listening.

  GET /values          {"data": [{"tag", "v", "t", "q"} x 3]}: three points in one answer
  GET /one             {"value": 42}
  GET /slow            the same, after 3 s
  GET /error           HTTP 500, text
  GET /html            HTTP 200, an HTML login page
  GET /missing         {"data": [{"v": 1}, {"w": 2}, {"v": 3}]}: the second record lacks "v"
  GET /huge            2 MB of JSON
  GET /secure          {"value": 7} with "Authorization: Bearer s3cret-token", else 401
  GET /basic           {"value": 8} with basic "operator" / "pl4nt", else 401
  GET /history?from=ISO&to=ISO[&cursor=N]
                       one value a second for every whole second t in (from, to]: {"ts": ISO,
                       "value": t mod 1000}; 50 a page; {"items": [...], "next_cursor": "N" | null}
  GET /history-link?from=ISO&to=ISO[&page=N]
                       the same, {"items": [...], "links": {"next": "/history-link?…" | absent}}
  POST /query          body {"from": ms, "to": ms}: {"rows": [{"t": ms, "v": t mod 1000}]}
  GET /loop            {"v": 1, "next": "/loop"}: a next page that is the same page
  GET /elsewhere       {"v": 1, "next": "http://127.0.0.2:PORT/values"}: a next page elsewhere

Every request is counted by path; GET /count/PATH answers {"count": N} (not counted itself).
"""
import argparse
import base64
import json
import ssl
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

PAGE = 50
counts = {}
lock = threading.Lock()


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def series(q):
    """The whole seconds in (from, to], and the page start of the cursor."""
    start, end = seconds(q["from"][0]), seconds(q["to"][0])
    first = int(start) + 1
    ts = list(range(first, int(end) + 1))
    return ts


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle holds the body 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def send(self, status, body, kind="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def json(self, value):
        self.send(200, json.dumps(value))

    def do_GET(self):
        url = urlparse(self.path)
        q = parse_qs(url.query)
        path = url.path
        if path.startswith("/count/"):
            with lock:
                return self.json({"count": counts.get("/" + path[len("/count/"):], 0)})
        with lock:
            counts[path] = counts.get(path, 0) + 1
        now = time.time()
        if path == "/values":
            self.json({"data": [
                {"tag": "line1.speed", "v": 12.5, "t": "2026-12-05T10:00:00Z", "q": "good"},
                {"tag": "line1.temperature", "v": 71, "t": "2026-12-05T10:00:01Z", "q": "uncertain"},
                {"tag": "line1.running", "v": True, "t": "2026-12-05T10:00:02Z", "q": "GOOD"},
            ]})
        elif path == "/one":
            self.json({"value": 42})
        elif path == "/slow":
            time.sleep(3)
            self.json({"value": 1})
        elif path == "/error":
            self.send(500, "database unavailable", "text/plain")
        elif path == "/html":
            self.send(200, "<!DOCTYPE html><html><body><form>Login</form></body></html>", "text/html")
        elif path == "/missing":
            self.json({"data": [{"v": 1}, {"w": 2}, {"v": 3}]})
        elif path == "/huge":
            self.json({"value": 1, "padding": "x" * (2 * 1024 * 1024)})
        elif path == "/secure":
            if self.headers.get("Authorization") == "Bearer s3cret-token":
                self.json({"value": 7})
            else:
                self.send(401, '{"error": "unauthorized"}')
        elif path == "/basic":
            want = "Basic " + base64.b64encode(b"operator:pl4nt").decode()
            if self.headers.get("Authorization") == want:
                self.json({"value": 8})
            else:
                self.send(401, '{"error": "unauthorized"}')
        elif path == "/history":
            ts = series(q)
            at = int(q.get("cursor", ["0"])[0])
            page = ts[at:at + PAGE]
            more = at + PAGE < len(ts)
            self.json({
                "items": [{"ts": iso(t), "value": t % 1000} for t in page],
                "next_cursor": str(at + PAGE) if more else None,
            })
        elif path == "/history-link":
            ts = series(q)
            n = int(q.get("page", ["1"])[0])
            page = ts[(n - 1) * PAGE:n * PAGE]
            body = {"items": [{"ts": iso(t), "value": t % 1000} for t in page], "links": {}}
            if n * PAGE < len(ts):
                nxt = {"from": q["from"][0], "to": q["to"][0], "page": n + 1}
                body["links"]["next"] = "/history-link?" + urlencode(nxt)
            self.json(body)
        elif path == "/loop":
            self.json({"v": 1, "next": "/loop"})
        elif path == "/elsewhere":
            self.json({"v": 1, "next": f"http://127.0.0.2:{self.server.server_port}/values"})
        else:
            self.send(404, '{"error": "no such route"}')

    def do_POST(self):
        url = urlparse(self.path)
        with lock:
            counts[url.path] = counts.get(url.path, 0) + 1
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if url.path != "/query":
            return self.send(404, '{"error": "no such route"}')
        try:
            q = json.loads(body)
            start, end = int(q["from"]) // 1000, int(q["to"]) // 1000
        except (ValueError, KeyError, TypeError):
            return self.send(400, '{"error": "want {\\"from\\": ms, \\"to\\": ms}"}')
        self.json({"rows": [{"t": t * 1000, "v": t % 1000} for t in range(start + 1, end + 1)]})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"ready {args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
