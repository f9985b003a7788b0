#!/usr/bin/env python3
"""check_report.py HTML RESULTS.jsonl [options] - checks an optibench HTML
report (as written, or as headless Chromium's --dump-dom left it) against
the results it was made from, with Python's own HTML parser:

  - one SVG scatter pair per model (svg.scatter), each point a circle.pt,
    the frontier circles marked "front" and joined by a path.frontier;
  - one bar chart (svg.bars) per metric measured, one rect.bar per value;
  - table#runs-table with a tr.run per record, whose data-recipe attributes
    are exactly the recipes of the results, and a th per column;
  - the #machine section with the given text, the #recommendation section
    naming the expected recipe (or saying no recipe satisfies the bounds);
  - nothing that loads from the network: no src/href/url() to http(s), no
    <link>, no external <script src>.
Options: --recommend NAME | --no-recommend, --machine-text TEXT,
--first-recipe NAME (the table's first row, after a #sort=... load),
--front N (frontier points in the first speed chart).
Prints "ok: ..." lines and exits 1 on the first violation."""
import argparse
import json
import re
import sys
from html.parser import HTMLParser


class Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.elems = [], []

    def handle_starttag(self, tag, attrs):
        e = {"tag": tag, "attrs": dict(attrs), "text": "", "parents": [p["id"] for p in self.stack]}
        e["id"] = len(self.elems)
        self.elems.append(e)
        if tag not in ("meta", "br", "img", "input", "link", "circle", "rect", "line", "path"):
            self.stack.append(e)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.stack and self.stack[-1]["tag"] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        for e in self.stack:
            e["text"] += data

    def find(self, tag=None, cls=None, within=None, **attrs):
        out = []
        for e in self.elems:
            if tag and e["tag"] != tag:
                continue
            if cls and cls not in e["attrs"].get("class", "").split():
                continue
            if within is not None and within["id"] not in e["parents"]:
                continue
            if any(e["attrs"].get(k) != v for k, v in attrs.items()):
                continue
            out.append(e)
        return out


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("html")
    ap.add_argument("results")
    ap.add_argument("--recommend")
    ap.add_argument("--no-recommend", action="store_true")
    ap.add_argument("--machine-text")
    ap.add_argument("--first-recipe")
    ap.add_argument("--front", type=int)
    a = ap.parse_args()

    text = open(a.html, encoding="utf-8").read()
    cells = [json.loads(line) for line in open(a.results, encoding="utf-8") if line.strip()]
    dom = Dom()
    dom.feed(text)

    # nothing from the network
    if re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I) or re.search(r"url\(\s*['\"]?https?:", text, re.I):
        fail("the page references a network resource")
    if re.search(r"https?://", text):
        fail("the page contains an http(s):// URL")
    if dom.find("link") or any("src" in e["attrs"] for e in dom.find("script")):
        fail("the page loads a stylesheet or script")
    print("ok: no network references")

    models = list(dict.fromkeys(c.get("model", "") for c in cells))
    ok_cells = [c for c in cells if c.get("status", "ok") == "ok"]
    scatters = dom.find("svg", "scatter")
    if len(scatters) != 2 * len(models):
        fail(f"{len(scatters)} scatter plots for {len(models)} models")
    for svg in scatters:
        pts = dom.find("circle", "pt", within=svg)
        front = dom.find("circle", "front", within=svg)
        paths = dom.find("path", "frontier", within=svg)
        if not pts or not front or len(paths) != 1 or not paths[0]["attrs"].get("d", "").startswith("M"):
            fail(f"scatter {svg['attrs'].get('id')}: {len(pts)} points, {len(front)} on the front, {len(paths)} paths")
        if len(dom.find("text", "lbl", within=svg)) != len(pts):
            fail(f"scatter {svg['attrs'].get('id')}: not every point is labelled")
    speed = [s for s in scatters if s["attrs"]["id"].endswith("-speed")]
    n_speed = len(dom.find("circle", "pt", within=speed[0]))
    want_speed = sum(1 for c in ok_cells if c.get("model", "") == models[0]
                     and "decode_tps" in c.get("metrics", {}) and ("acc" in c.get("metrics", {}) or "ppl" in c.get("metrics", {})))
    if n_speed != want_speed:
        fail(f"first speed chart has {n_speed} points, want {want_speed}")
    if a.front is not None and len(dom.find("circle", "front", within=speed[0])) != a.front:
        fail(f"first speed chart has {len(dom.find('circle', 'front', within=speed[0]))} frontier points, want {a.front}")
    print(f"ok: {len(scatters)} scatter plots with points, labels and a frontier path")

    metrics = list(dict.fromkeys(k for c in cells for k in c.get("metrics", {})))
    bars = dom.find("svg", "bars")
    if sorted(b["attrs"].get("data-metric") for b in bars) != sorted(metrics):
        fail(f"bar charts for {[b['attrs'].get('data-metric') for b in bars]}, metrics {metrics}")
    for b in bars:
        m = b["attrs"]["data-metric"]
        want = sum(1 for c in cells if isinstance(c.get("metrics", {}).get(m), (int, float)))
        got = len(dom.find("rect", "bar", within=b))
        if got != want:
            fail(f"bar chart {m}: {got} bars, want {want}")
    print(f"ok: {len(bars)} bar charts, one per metric, one bar per value")

    tables = dom.find("table", id="runs-table")
    if len(tables) != 1 or "sortable" not in tables[0]["attrs"].get("class", ""):
        fail("no sortable runs table")
    rows = dom.find("tr", "run", within=tables[0])
    if sorted(r["attrs"].get("data-recipe") for r in rows) != sorted(c["recipe"] for c in cells):
        fail(f"table rows {[r['attrs'].get('data-recipe') for r in rows]} != recipes {[c['recipe'] for c in cells]}")
    ths = dom.find("th", within=tables[0])
    if len(ths) < 4 or any(len(dom.find("td", within=r)) != len(ths) for r in rows):
        fail("table rows and header differ in width")
    if a.first_recipe is not None and rows[0]["attrs"].get("data-recipe") != a.first_recipe:
        fail(f"first row is {rows[0]['attrs'].get('data-recipe')!r}, want {a.first_recipe!r}")
    print(f"ok: table with {len(rows)} runs and {len(ths)} columns")

    mach = dom.find("section", id="machine")
    if len(mach) != 1:
        fail("no machine section")
    if a.machine_text and a.machine_text not in mach[0]["text"]:
        fail(f"machine section lacks {a.machine_text!r}: {mach[0]['text'][:200]!r}")
    print("ok: machine section")

    rec = dom.find("section", id="recommendation")
    if len(rec) != 1:
        fail("no recommendation section")
    picks = [e["text"] for e in dom.find("strong", "recipe", within=rec[0])]
    if a.no_recommend:
        if picks or "No recipe satisfies" not in rec[0]["text"]:
            fail(f"expected no recommendation, got {picks}: {rec[0]['text'][:300]!r}")
    elif a.recommend is not None and a.recommend not in picks:
        fail(f"recommended {picks}, want {a.recommend!r}")
    print(f"ok: recommendation {picks or 'none'}")


if __name__ == "__main__":
    main()
