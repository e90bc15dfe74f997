#!/usr/bin/env python3
"""A small HTTP file server for the download tests, on 127.0.0.1 only.

    python3 Tools/range_server.py --root DIR [--cut-at 0.4] [--published-digest] --log FILE

Serves the files under DIR with GET and HEAD, answers a Range request ("bytes=N-" or
"bytes=N-M") with 206 and that part, 404 for a missing file. With --cut-at F the first GET of
each file without a Range header announces the whole length, sends the first fraction F of the
file and closes the connection (a download broken part-way). With --published-digest every file
comes with Hugging Face's header "X-Linked-Etag: <sha256>". Each request is one line in FILE:
"GET /path range=bytes=N- status=206 bytes=K". The port (chosen by the system) is printed on
stdout as "port N" once the server listens. Python's http.server answers no Range requests,
hence this one.
"""
import argparse
import hashlib
import http.server
import os
import threading


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--cut-at", type=float)
    parser.add_argument("--published-digest", action="store_true")
    parser.add_argument("--log", required=True)
    options = parser.parse_args()
    root = os.path.realpath(options.root)
    log = open(options.log, "a", buffering=1)
    lock = threading.Lock()
    cut = set()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def note(self, status, sent, requested):
            with lock:
                log.write(f"{self.command} {self.path} range={requested or '-'} status={status} bytes={sent}\n")

        def do_HEAD(self):
            self.serve(body=False)

        def do_GET(self):
            self.serve(body=True)

        def serve(self, body):
            path = os.path.realpath(os.path.join(root, self.path.split("?")[0].lstrip("/")))
            requested = self.headers.get("Range")
            if not path.startswith(root + os.sep) or not os.path.isfile(path):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.note(404, 0, requested)
                return
            data = open(path, "rb").read()
            start, end, status = 0, len(data), 200
            if requested and requested.startswith("bytes="):
                first, _, last = requested[len("bytes="):].partition("-")
                start = int(first)
                end = int(last) + 1 if last else len(data)
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.note(416, 0, requested)
                    return
                status = 206
            part = data[start:end]
            self.send_response(status)
            self.send_header("Content-Length", str(len(part)))
            self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
            if options.published_digest:
                self.send_header("X-Linked-Etag", '"' + hashlib.sha256(data).hexdigest() + '"')
            self.end_headers()
            if not body:
                self.note(status, 0, requested)
                return
            with lock:
                breaks = options.cut_at is not None and requested is None and self.path not in cut
                if breaks:
                    cut.add(self.path)
            if breaks:
                sent = int(len(part) * options.cut_at)
                self.wfile.write(part[:sent])
                self.wfile.flush()
                self.note(status, sent, requested)
                self.close_connection = True
                return
            self.wfile.write(part)
            self.note(status, len(part), requested)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
