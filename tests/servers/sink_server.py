"""An HTTP server that receives what the rest plugin's North sends, written only for its tests.
Python's standard library only.

Usage: sink_server.py --port N --record FILE --files DIR. Binds 127.0.0.1; prints "ready PORT"
once listening.

  POST /values         a JSON array of values (gzip if Content-Encoding says so): each value
                       appended to FILE as one JSON line; 200
  POST /flaky          the same, but the first 3 requests answer HTTP 500
  POST /reject         HTTP 400 "bad batch", always
  POST /slow           HTTP 200 after 3 s
  POST /files          a file: raw (its name in ?filename=) into DIR/raw/, or multipart/form-data
                       (part "file" with a file name) into DIR/multipart/; 200
"""
import argparse
import email.parser
import gzip
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Lock()
flaky_left = [3]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle holds the body 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(length)

    def record_values(self, data):
        if self.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        values = json.loads(data)
        with lock, open(args.record, "a") as f:
            for v in values:
                f.write(json.dumps(v) + "\n")

    def do_POST(self):
        url = urlparse(self.path)
        data = self.body()
        if url.path == "/values":
            self.record_values(data)
            return self.answer(200, "ok")
        if url.path == "/flaky":
            with lock:
                fail = flaky_left[0] > 0
                flaky_left[0] -= 1
            if fail:
                return self.answer(500, "temporarily unavailable")
            self.record_values(data)
            return self.answer(200, "ok")
        if url.path == "/reject":
            return self.answer(400, "bad batch")
        if url.path == "/slow":
            time.sleep(3)
            return self.answer(200, "late")
        if url.path == "/files":
            # As servers that take no chunked upload (IIS with some modules, appliances): a file
            # without its length is refused.
            if self.headers.get("Content-Length") is None:
                return self.answer(411, "length required")
            kind = self.headers.get("Content-Type", "")
            if kind.startswith("multipart/form-data"):
                message = email.parser.BytesParser().parsebytes(
                    b"Content-Type: " + kind.encode() + b"\r\n\r\n" + data
                )
                for part in message.get_payload():
                    self.store("multipart", part.get_filename(), part.get_payload(decode=True))
            else:
                name = parse_qs(url.query)["filename"][0]
                self.store("raw", name, data)
            return self.answer(200, "stored")
        self.answer(404, "no such route")

    def store(self, kind, name, content):
        folder = os.path.join(args.files, kind)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, os.path.basename(name)), "wb") as f:
            f.write(content)


parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--record", required=True)
parser.add_argument("--files", required=True)
args = parser.parse_args()
server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"ready {args.port}", flush=True)
server.serve_forever()
