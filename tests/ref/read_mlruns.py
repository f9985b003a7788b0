#!/usr/bin/env python3
"""read_mlruns.py ROOT - an independent reader of an MLflow FileStore.

Written from MLflow's documented FileStore layout (mlflow/store/tracking/
file_store.py and mlflow/utils/validation.py), not from optibench's code:

  ROOT/<experiment_id>/meta.yaml   artifact_location, experiment_id (str),
                                   lifecycle_stage, name, creation_time,
                                   last_update_time
  ROOT/<exp>/<run_id>/meta.yaml    run_id == run_uuid (32 hex), experiment_id,
                                   run_name, status (int 1..5), start_time,
                                   end_time (int, or null while RUNNING),
                                   lifecycle_stage, artifact_uri, user_id,
                                   source_type (int), source_name,
                                   entry_point_name, source_version, tags: []
  params/<key>, tags/<key>         the value ('/' in a key = subfolder)
  metrics/<key>                    lines "timestamp value [step]"
  artifacts/

Every violation is collected; the script prints them and exits 1, or prints
a JSON summary {experiment name: {"id", "runs": {run name: {...}}}} and
exits 0.  Uses only the standard library and PyYAML.
"""
import json
import os
import posixpath
import re
import sys
import urllib.parse

import yaml

NAME_RE = re.compile(r"^[/\w.\- ]*$")
RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")
EXP_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,63}$")
STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
problems = []


def bad(where, msg):
    problems.append(f"{where}: {msg}")


def load_yaml(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        bad(path, f"cannot read: {e}")
        return None
    if not isinstance(data, dict):
        bad(path, "not a mapping")
        return None
    return data


def want(meta, where, key, types, allow_none=False):
    if key not in meta:
        bad(where, f"missing '{key}'")
        return None
    v = meta[key]
    if v is None and allow_none:
        return None
    # bool is an int in Python; a YAML true/false is never what MLflow writes
    if not isinstance(v, types) or isinstance(v, bool):
        bad(where, f"'{key}' is {v!r} ({type(v).__name__}), want {types}")
        return None
    return v


def uri_path(uri, where):
    p = urllib.parse.urlparse(uri)
    if p.scheme != "file":
        bad(where, f"not a file:// URI: {uri}")
        return None
    return urllib.parse.unquote(p.path)


def walk_keys(folder, where):
    """The keys of a params/metrics/tags folder: relative paths of its files."""
    keys = []
    for dirpath, _, files in os.walk(folder):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), folder)
            key = rel.replace(os.sep, "/")
            if not NAME_RE.match(key) or posixpath.normpath(key) != key or len(key) > 250:
                bad(where, f"key '{key}' is not a valid MLflow name")
            keys.append(key)
    return sorted(keys)


def add_unique(table, name, value, where, what):
    """table[name] = value, unless value is None; two of a name is a problem."""
    if value is None:
        return
    if name in table:
        bad(where, f"two {what} named {name!r}")
    table[name] = value


def read_value(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def read_metric(path, where):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        bad(where, "metric file does not end with a newline")
    history = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.strip().split(" ")
        if len(parts) not in (2, 3):
            bad(where, f"line {n}: {len(parts)} fields: {line!r}")
            continue
        try:
            ts, val = int(parts[0]), float(parts[1])
            step = int(parts[2]) if len(parts) == 3 else 0
        except ValueError:
            bad(where, f"line {n}: not 'int float int': {line!r}")
            continue
        if ts < 10**12:
            bad(where, f"line {n}: timestamp {ts} is not in milliseconds")
        history.append([ts, val, step])
    if not history:
        bad(where, "empty metric")
    return history


def read_run(exp_id, run_dir):
    where = run_dir
    run_id = os.path.basename(run_dir)
    if not RUN_ID_RE.match(run_id):
        bad(where, "run folder is not a 32-hex run id")
    meta = load_yaml(os.path.join(run_dir, "meta.yaml"))
    if meta is None:
        return None, None
    for key in ("run_id", "run_uuid", "experiment_id", "run_name", "lifecycle_stage", "artifact_uri",
                "user_id", "source_name", "entry_point_name", "source_version"):
        want(meta, where, key, str)
    for key in ("start_time", "status", "source_type"):
        want(meta, where, key, int)
    end = want(meta, where, "end_time", int, allow_none=True)
    if meta.get("run_id") != run_id or meta.get("run_uuid") != run_id:
        bad(where, f"run_id/run_uuid {meta.get('run_id')}/{meta.get('run_uuid')} differ from the folder")
    if meta.get("experiment_id") != exp_id:
        bad(where, f"experiment_id {meta.get('experiment_id')!r} is not the parent's {exp_id!r}")
    status = meta.get("status")
    if status not in STATUS:
        bad(where, f"status {status!r} is not a RunStatus (1..5)")
    if meta.get("lifecycle_stage") not in ("active", "deleted"):
        bad(where, f"lifecycle_stage {meta.get('lifecycle_stage')!r}")
    if meta.get("tags") != []:
        bad(where, f"tags in meta.yaml is {meta.get('tags')!r}, want []")
    if status == 1 and end is not None:
        bad(where, "a RUNNING run has an end_time")
    if status in (3, 4, 5) and end is None:
        bad(where, "a finished run has no end_time")
    if isinstance(end, int) and isinstance(meta.get("start_time"), int) and end < meta["start_time"]:
        bad(where, "end_time before start_time")
    art = uri_path(meta.get("artifact_uri", ""), where)
    if art is not None and os.path.realpath(art) != os.path.realpath(os.path.join(run_dir, "artifacts")):
        bad(where, f"artifact_uri {meta.get('artifact_uri')} is not this run's artifacts/")
    for sub in ("params", "metrics", "tags", "artifacts"):
        if not os.path.isdir(os.path.join(run_dir, sub)):
            bad(where, f"no {sub}/ folder")
    params = {k: read_value(os.path.join(run_dir, "params", k))
              for k in walk_keys(os.path.join(run_dir, "params"), where)}
    tags = {k: read_value(os.path.join(run_dir, "tags", k))
            for k in walk_keys(os.path.join(run_dir, "tags"), where)}
    metrics = {k: read_metric(os.path.join(run_dir, "metrics", k), f"{where}/metrics/{k}")
               for k in walk_keys(os.path.join(run_dir, "metrics"), where)}
    for k, v in params.items():
        if v.endswith("\n"):
            bad(where, f"param {k} ends with a newline")
    if "mlflow.runName" not in tags:
        bad(where, "no mlflow.runName tag")
    elif tags["mlflow.runName"] != meta.get("run_name"):
        bad(where, f"mlflow.runName {tags['mlflow.runName']!r} != run_name {meta.get('run_name')!r}")
    artifacts = sorted(os.path.relpath(os.path.join(d, f), os.path.join(run_dir, "artifacts"))
                       for d, _, fs in os.walk(os.path.join(run_dir, "artifacts")) for f in fs)
    summary = {
        "run_id": run_id,
        "status": STATUS.get(status, status),
        "params": params,
        "tags": tags,
        # MLflow shows the value at the largest (step, timestamp, value)
        "metrics": {k: max(h, key=lambda m: (m[2], m[0], m[1]))[1] for k, h in metrics.items() if h},
        "history": {k: [[v, s] for _, v, s in h] for k, h in metrics.items()},
        "artifacts": artifacts,
    }
    return meta.get("run_name"), summary


def read_experiment(root, exp_id):
    exp_dir = os.path.join(root, exp_id)
    where = exp_dir
    if not EXP_ID_RE.match(exp_id):
        bad(where, "folder name is not a valid experiment id")
    meta = load_yaml(os.path.join(exp_dir, "meta.yaml"))
    if meta is None:
        return None, None
    for key in ("artifact_location", "experiment_id", "lifecycle_stage", "name"):
        want(meta, where, key, str)
    for key in ("creation_time", "last_update_time"):
        want(meta, where, key, int)
    if meta.get("experiment_id") != exp_id:
        bad(where, f"experiment_id {meta.get('experiment_id')!r} differs from the folder")
    if meta.get("lifecycle_stage") != "active":
        bad(where, f"lifecycle_stage {meta.get('lifecycle_stage')!r}")
    loc = uri_path(meta.get("artifact_location", ""), where)
    if loc is not None and os.path.realpath(loc) != os.path.realpath(exp_dir):
        bad(where, f"artifact_location {meta.get('artifact_location')} is not the experiment folder")
    runs = {}
    for entry in sorted(os.listdir(exp_dir)):
        path = os.path.join(exp_dir, entry)
        if not os.path.isdir(path) or entry in ("tags", "datasets", "traces"):
            continue
        add_unique(runs, *read_run(exp_id, path), path, "runs")
    return meta.get("name"), {"id": exp_id, "runs": runs}


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    if not os.path.isdir(os.path.join(root, "0")):
        bad(root, "no Default experiment 0/")
    if not os.path.isdir(os.path.join(root, ".trash")):
        bad(root, "no .trash/ folder")
    experiments = {}
    for entry in sorted(os.listdir(root)):
        if entry.startswith(".") or not os.path.isdir(os.path.join(root, entry)):
            continue
        add_unique(experiments, *read_experiment(root, entry), root, "experiments")
    if experiments.get("Default", {}).get("id") != "0":
        bad(root, "experiment 0 is not called Default")
    if problems:
        for p in problems:
            print("PROBLEM", p)
        return 1
    json.dump(experiments, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
