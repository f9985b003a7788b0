#!/usr/bin/python3
"""hub_server.py - a fake Hugging Face Hub for tests/test_hub.sh.

Serves fixed test repositories in the Hub's URL layout on 127.0.0.1 at an
ephemeral port, which it prints as the first line of stdout:
  GET /api/models/{org}/{name}/revision/{rev}  JSON with "sha" and "siblings"
  GET|HEAD /{org}/{name}/resolve/{rev}/{file}  small files directly (ETag is
      a git-style sha1), LFS files as a 302 to /cdn/... carrying
      X-Linked-Size and X-Linked-Etag (the quoted sha256)
  GET|HEAD /cdn/{key}                          the bytes, with Range support
      (except for test/norange, which always answers 200 with everything)
Options: --log FILE appends one line per request ("METHOD PATH range=R
auth=A"); --dump FILE writes "org/name rev file sha256" per file.
Standard library only; exits by itself after --lifetime seconds (120).
"""
import argparse
import hashlib
import json
import os
import random
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "secret-token"


def blob(seed, n):
    return random.Random(seed).randbytes(n)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def gitsha1(b):
    return hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest()


def commit(seed):
    return hashlib.sha1(seed.encode()).hexdigest()


def build_repos():
    """repo id -> {"revs": {rev: {"sha": ..., "files": {name: (bytes, lfs)}}},
    plus per-repo behaviour flags."""
    repos = {}

    def cfg(tag):
        return json.dumps({"model_type": "llama", "tag": tag}).encode()

    def add(repo, files, revs=("main",), **flags):
        r = {"revs": {}, **flags}
        for rev in revs:
            r["revs"][rev] = {"sha": commit(repo + "@" + rev), "files": files(rev)}
        repos[repo] = r

    add("test/tiny", lambda rev: {
        "config.json": (cfg("tiny-" + rev), False),
        "generation_config.json": (b'{"bos_token_id": 1}', False),
        "tokenizer.json": (b'{"model": {"type": "BPE"}}', False),
        "tokenizer_config.json": (b'{"add_bos_token": true}', False),
        "README.md": (b"# tiny\n", False),
        ".gitattributes": (b"*.safetensors filter=lfs\n", False),
        "pytorch_model.bin": (blob("pt", 5000), True),
        "model.safetensors": (blob("tiny-" + rev, 300000), True),
    }, revs=("main", "v1"))

    index = {"metadata": {"total_size": 0}, "weight_map": {
        "a.weight": "model-00001-of-00002.safetensors",
        "b.weight": "model-00002-of-00002.safetensors",
        "c.weight": "model-00001-of-00002.safetensors"}}
    add("test/sharded", lambda rev: {
        "config.json": (cfg("sharded"), False),
        "tokenizer.json": (b"{}", False),
        "model.safetensors.index.json": (json.dumps(index).encode(), False),
        "model-00001-of-00002.safetensors": (blob("s1", 200000), True),
        "model-00002-of-00002.safetensors": (blob("s2", 100000), True),
        "extra.safetensors": (blob("extra", 1000), True),
    })

    add("test/loose", lambda rev: {
        "config.json": (cfg("loose"), False),
        "a.safetensors": (blob("la", 1000), True),
        "b.safetensors": (blob("lb", 2000), True),
        "sub/c.safetensors": (blob("lc", 3000), True),
    })

    add("test/gated", lambda rev: {
        "config.json": (cfg("gated"), False),
        "model.safetensors": (blob("gated", 50000), True),
    }, gated=True)

    for name in ("test/interrupt", "test/interrupt2", "test/norange"):
        add(name, lambda rev, name=name: {
            "config.json": (cfg(name), False),
            "model.safetensors": (blob(name, 3000000), True),
        }, interrupt={"model.safetensors"}, norange=name == "test/norange")

    add("test/badsha", lambda rev: {
        "config.json": (cfg("badsha"), False),
        "model.safetensors": (blob("badsha", 40000), True),
    }, badsha={"model.safetensors"})

    bad_index = {"weight_map": {"a": "model-00001-of-00002.safetensors",
                                "b": "model-00002-of-00002.safetensors"}}
    add("test/missing", lambda rev: {
        "config.json": (cfg("missing"), False),
        "model.safetensors.index.json": (json.dumps(bad_index).encode(), False),
        "model-00001-of-00002.safetensors": (blob("m1", 1000), True),
    })

    evil_index = {"weight_map": {"a": "../../../../evil.safetensors"}}
    add("test/evil", lambda rev: {
        "config.json": (cfg("evil"), False),
        "model.safetensors.index.json": (json.dumps(evil_index).encode(), False),
    })

    add("test/noweights", lambda rev: {
        "config.json": (cfg("noweights"), False),
        "pytorch_model.bin": (blob("nw", 1000), True),
    })

    add("test/badjson", lambda rev: {"config.json": (b"{}", False)}, badjson=True)
    return repos


class Hub:
    def __init__(self, log_path):
        self.repos = build_repos()
        self.log_path = log_path
        self.lock = threading.Lock()
        self.cut = set()        # files already cut off once
        self.cdn = {}           # key -> (bytes, repo, file)
        for repo, r in self.repos.items():
            for rev, info in r["revs"].items():
                for name, (data, lfs) in info["files"].items():
                    if lfs:
                        self.cdn[sha256(data)] = (data, repo, name)

    def log(self, line):
        if self.log_path:
            with self.lock, open(self.log_path, "a") as f:
                f.write(line + "\n")

    def find_rev(self, repo, rev):
        r = self.repos.get(repo)
        if not r:
            return None
        for name, info in r["revs"].items():
            if rev in (name, info["sha"]):
                return info
        return None


class Handler(BaseHTTPRequestHandler):
    server_version = "fakehub/1"

    def log_message(self, fmt, *args):
        pass

    def send_text(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, ecode, msg):
        body = json.dumps({"error": msg}).encode()
        self.send_text(code, body, [("X-Error-Code", ecode), ("X-Error-Message", msg),
                                    ("Content-Type", "application/json")])

    def authorized(self, repo):
        hub = self.server.hub
        if not hub.repos[repo].get("gated"):
            return True
        return self.headers.get("Authorization") == "Bearer " + TOKEN

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        hub = self.server.hub
        path = urllib.parse.urlsplit(self.path).path
        auth = self.headers.get("Authorization")
        hub.log("%s %s range=%s auth=%s" % (self.command, path, self.headers.get("Range", "-"),
                                            "yes" if auth else "no"))
        parts = [urllib.parse.unquote(p) for p in path.split("/")[1:]]
        if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
            return self.api(parts[2] + "/" + parts[3], "/".join(parts[5:]))
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve(parts[0] + "/" + parts[1], parts[3], "/".join(parts[4:]))
        if len(parts) == 2 and parts[0] == "cdn":
            return self.cdn(parts[1])
        self.error(404, "EntryNotFound", "no such path")

    def api(self, repo, rev):
        hub = self.server.hub
        if repo not in hub.repos:
            return self.error(401, "RepoNotFound", "Repository not found")
        if not self.authorized(repo):
            return self.error(401, "GatedRepo", "Access to model %s is restricted" % repo)
        info = hub.find_rev(repo, rev)
        if info is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
        if hub.repos[repo].get("badjson"):
            return self.send_text(200, b"{not json", [("Content-Type", "application/json")])
        body = json.dumps({"id": repo, "modelId": repo, "sha": info["sha"],
                           "siblings": [{"rfilename": n} for n in info["files"]]}).encode()
        self.send_text(200, body, [("Content-Type", "application/json")])

    def resolve(self, repo, rev, name):
        hub = self.server.hub
        if repo not in hub.repos:
            return self.error(401, "RepoNotFound", "Repository not found")
        if not self.authorized(repo):
            return self.error(401, "GatedRepo", "Access to model %s is restricted" % repo)
        info = hub.find_rev(repo, rev)
        if info is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
        if name not in info["files"]:
            return self.error(404, "EntryNotFound", "%s does not exist" % name)
        data, lfs = info["files"][name]
        if not lfs:
            return self.send_text(200, data, [("ETag", '"%s"' % gitsha1(data)),
                                              ("X-Repo-Commit", info["sha"])])
        digest = sha256(data)
        etag = ("0" * 64) if name in hub.repos[repo].get("badsha", ()) else digest
        self.send_text(302, b"", [("Location", "/cdn/" + digest), ("ETag", '"%s"' % etag),
                                  ("X-Linked-Etag", '"%s"' % etag), ("X-Linked-Size", str(len(data))),
                                  ("X-Repo-Commit", info["sha"])])

    def cdn(self, key):
        hub = self.server.hub
        if key not in hub.cdn:
            return self.error(404, "EntryNotFound", "no such blob")
        data, repo, name = hub.cdn[key]
        size = len(data)
        rng = None if hub.repos[repo].get("norange") else self.headers.get("Range")
        start = 0
        if rng:
            try:
                unit, spec = rng.split("=", 1)
                start = int(spec.split("-", 1)[0])
                assert unit.strip() == "bytes" and start >= 0
            except (ValueError, AssertionError):
                return self.send_text(400, b"bad range")
            if start >= size:
                return self.send_text(416, b"", [("Content-Range", "bytes */%d" % size)])
        body = data[start:]
        cut = False
        if name in hub.repos[repo].get("interrupt", ()) and not rng and self.command == "GET":
            with hub.lock:
                if (repo, name) not in hub.cut:
                    hub.cut.add((repo, name))
                    cut = True
        self.send_response(206 if rng else 200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        if rng:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut:  # send half, then drop the connection
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log")
    ap.add_argument("--dump")
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()
    hub = Hub(args.log)
    if args.dump:
        with open(args.dump, "w") as f:
            for repo, r in hub.repos.items():
                for rev, info in r["revs"].items():
                    for name, (data, _) in info["files"].items():
                        f.write("%s %s %s %s\n" % (repo, rev, name, sha256(data)))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.hub = hub
    timer = threading.Timer(args.lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
