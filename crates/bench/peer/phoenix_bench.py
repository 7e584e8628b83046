#!/usr/bin/env python3
"""Peer benchmark: ingest an OTLP corpus into Arize Phoenix (SQLite) and measure it the
way the Glassbox bench measures itself (crates/bench/src/main.rs).

Run with the Phoenix venv's python so opentelemetry-proto is importable for span counting:
  /var/tmp/phoenix-venv/bin/python crates/bench/peer/phoenix_bench.py \
      --corpus /tmp/corpus-small --workdir /tmp/phoenix-bench
"""
import argparse, glob, json, os, shutil, signal, statistics, subprocess, sys, threading, time
import urllib.error, urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def count_corpus(files):
    """(spans, sorted model names) via opentelemetry-proto; (None, []) if it isn't installed."""
    try:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest)
    except ImportError:
        return None, []
    spans, models = 0, set()
    for f in files:
        req = ExportTraceServiceRequest()
        with open(f, "rb") as fh:
            req.ParseFromString(fh.read())
        for rs in req.resource_spans:
            for ss in rs.scope_spans:
                spans += len(ss.spans)
                for s in ss.spans:
                    for a in s.attributes:
                        # Phoenix maps gen_ai.request.model -> llm.model_name on ingest
                        # (phoenix/trace/gen_ai/conversion.py), which is what we filter on.
                        if a.key == "gen_ai.request.model":
                            models.add(a.value.string_value)
    return spans, sorted(models)


# ---- /proc accounting over the whole process tree (Phoenix is one uvicorn process today,
# but summing descendants keeps this honest if it ever forks workers) -------------------
def _tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def cpu_seconds(root):
    """user+system of the tree, plus cutime/cstime (children already reaped)."""
    total = 0
    for p in _tree(root):
        try:
            with open(f"/proc/{p}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in f[11:15])  # utime stime cutime cstime
        except OSError:
            pass
    return total / CLK_TCK


def peak_rss_bytes(root):
    total = 0
    for p in _tree(root):
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) * 1024
        except (OSError, StopIteration):
            pass
    return total


def dir_bytes(d):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)


# ---- HTTP helpers (stdlib only: nothing extra to install) ------------------------------
def http(url, data=None, headers=None, timeout=30):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def graphql(base, query, timeout=120):
    _, body = http(f"{base}/graphql", json.dumps({"query": query}).encode(),
                   {"Content-Type": "application/json"}, timeout)
    doc = json.loads(body)
    if doc.get("errors"):
        raise RuntimeError(f"GraphQL errors: {doc['errors']}")
    return doc["data"]


_bust = [0]


def fresh_range():
    """Phoenix keeps a cross-request result cache for record counts / token counts /
    latency quantiles when running on SQLite (CacheForDataLoaders, keyed by time range +
    filter). A time range that covers everything but is unique per call forces a real SQL
    query each time. (The Phoenix UI also always sends a timeRange.)"""
    _bust[0] += 1
    return ('{start: "1970-01-01T00:00:00+00:00", '
            f'end: "2999-01-01T00:00:00.{_bust[0]:06d}+00:00"}}')


def span_count(base, project):
    d = graphql(base, f'{{ getProjectByName(name: "{project}") '
                      f'{{ recordCount(timeRange: {fresh_range()}) }} }}', timeout=30)
    return (d["getProjectByName"] or {}).get("recordCount", 0)


def aggregate_query(project, models, tr):
    """Phoenix has no GROUP BY model for latency, so per model we ask for span-latency
    p50/p95/p99 + token sums + span count with filterCondition llm.model_name == '<m>',
    all as aliases in ONE GraphQL request (Phoenix runs one SQL query per field/probability)."""
    fields = []
    groups = [(f"m{i}_", f'filterCondition: "llm.model_name == \'{m}\'", ')
              for i, m in enumerate(models)] or [("all_", "")]
    for a, flt in groups:
        for q in (50, 95, 99):
            fields.append(f"{a}p{q}: spanLatencyMsQuantile(probability: {q / 100}, {flt}timeRange: {tr})")
        for k in ("Total", "Prompt", "Completion"):
            fields.append(f"{a}tok{k}: tokenCount{k}({flt}timeRange: {tr})")
        fields.append(f"{a}spans: recordCount({flt}timeRange: {tr})")
    return f'{{ getProjectByName(name: "{project}") {{ {" ".join(fields)} }} }}'


def send_all(url, files, exporters, deadline):
    """N exporter threads pull files off a shared list; retry 429/503 (Phoenix answers 503
    when its span queue is at capacity) with capped backoff."""
    todo, lock, errors = list(files), threading.Lock(), []

    def worker():
        while True:
            with lock:
                if not todo or errors:
                    return
                path = todo.pop(0)
            with open(path, "rb") as fh:
                body = fh.read()
            backoff = 0.05
            while True:
                try:
                    http(url, body, {"Content-Type": "application/x-protobuf"}, timeout=60)
                    break
                except urllib.error.HTTPError as e:
                    if e.code not in (429, 503) or time.monotonic() > deadline:
                        errors.append(f"{path}: HTTP {e.code}")
                        return
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 1.0)
                except Exception as e:  # connection errors etc.: fail loudly, don't hang
                    errors.append(f"{path}: {e!r}")
                    return

    threads = [threading.Thread(target=worker) for _ in range(exporters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if errors or any(t.is_alive() for t in threads):
        raise RuntimeError(f"send failed: {errors or 'timeout'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--workdir", required=True, help="wiped and recreated each run")
    ap.add_argument("--port", type=int, default=6006)
    ap.add_argument("--grpc-port", type=int, default=None, help="default: port+1")
    ap.add_argument("--exporters", type=int, default=4)
    ap.add_argument("--aggregate-runs", type=int, default=5)
    ap.add_argument("--spans", type=int, help="span count if opentelemetry-proto is missing")
    ap.add_argument("--models", help="comma-separated model names (default: from corpus)")
    ap.add_argument("--project", default="default")
    ap.add_argument("--timeout", type=float, default=600, help="seconds, per phase")
    ap.add_argument("--poll-interval", type=float, default=0.25,
                    help="s between span-count polls; each poll costs Phoenix CPU too")
    a = ap.parse_args()

    files = sorted(glob.glob(os.path.join(a.corpus, "*.traces.pb")))
    if not files:
        sys.exit(f"no *.traces.pb in {a.corpus}")
    spans, models = count_corpus(files)
    spans = spans or a.spans
    if not spans:
        sys.exit("opentelemetry-proto not importable: pass --spans N")
    if a.models:
        models = a.models.split(",")

    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    env = dict(os.environ,
               PHOENIX_WORKING_DIR=a.workdir,
               PHOENIX_SQL_DATABASE_URL=f"sqlite:///{os.path.abspath(a.workdir)}/phoenix.db",
               PHOENIX_HOST="127.0.0.1", PHOENIX_PORT=str(a.port),
               PHOENIX_GRPC_PORT=str(a.grpc_port or a.port + 1),
               # offline box: no telemetry pixels, fonts, WASM download, agent assistant
               PHOENIX_TELEMETRY_ENABLED="false", PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
               PHOENIX_DISABLE_AGENT_ASSISTANT="true", PHOENIX_LOGGING_LEVEL="warning")
    env.pop("PHOENIX_COLLECTOR_ENDPOINT", None)
    base = f"http://127.0.0.1:{a.port}"
    log = open(os.path.join(os.path.dirname(os.path.abspath(a.workdir)),
                            os.path.basename(a.workdir.rstrip("/")) + ".server.log"), "w")
    # Server log goes beside (not inside) the workdir so it doesn't count as bytes at rest.
    proc = subprocess.Popen([sys.executable, "-m", "phoenix.server.main", "serve"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180  # first start runs the Alembic migrations
        while True:
            if proc.poll() is not None:
                sys.exit(f"phoenix exited with {proc.returncode}; see {log.name}")
            try:
                if http(f"{base}/readyz", timeout=5)[0] == 200:
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                sys.exit("phoenix did not become ready")
            time.sleep(0.25)
        print(f"phoenix {http(base + '/arize_phoenix_version')[1].decode()} ready, "
              f"sending {len(files)} files with {a.exporters} exporters", file=sys.stderr)

        cpu0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        send_all(f"{base}/v1/traces", files, a.exporters, t0 + a.timeout)
        t_sent = time.monotonic() - t0
        # HTTP 200 only means "queued" (spans are inserted by a background bulk inserter),
        # so throughput that matters is first send -> all spans visible to a query.
        n = 0
        while (n := span_count(base, a.project)) < spans:
            if time.monotonic() - t0 > a.timeout:
                sys.exit(f"only {n}/{spans} spans queryable after {a.timeout}s")
            time.sleep(a.poll_interval)
        t_q = time.monotonic() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        peak = peak_rss_bytes(proc.pid)
        live_disk = dir_bytes(a.workdir)

        print(f"spans {spans}")
        print(f"spans queryable {n}")
        print(f"wall time to accepted {t_sent:.2f} s")
        print(f"throughput (accepted, not durable) {spans / t_sent:.0f} spans/s")
        print(f"wall time to queryable {t_q:.2f} s")
        print(f"throughput (queryable) {spans / t_q:.0f} spans/s")
        print(f"server CPU per span {cpu * 1e3 / spans:.3f} ms")
        print(f"server peak RSS {peak / 2**20:.0f} MiB")
        print(f"bytes on disk per span (live, db+wal+shm) {live_disk / spans:.0f}")

        if a.aggregate_runs > 0:
            ms, data = [], None
            for _ in range(a.aggregate_runs):
                q = aggregate_query(a.project, models, fresh_range())
                t = time.monotonic()
                data = graphql(base, q)["getProjectByName"]
                ms.append((time.monotonic() - t) * 1e3)
            print(f"aggregate models {len(models) or 'none (project-level only)'}")
            print(f"aggregate median {statistics.median(ms):.2f} ms max {max(ms):.2f} ms")
            # Same query again with an unchanged time range -> served from Phoenix's cache.
            graphql(base, q)
            t = time.monotonic()
            graphql(base, q)
            print(f"aggregate (cached repeat) {(time.monotonic() - t) * 1e3:.2f} ms")
            for i, m in enumerate(models or ["(all)"]):
                p = "all_" if not models else f"m{i}_"
                print(f"model {m} spans {data[p + 'spans']} p50 {data[p + 'p50']:.1f} "
                      f"p95 {data[p + 'p95']:.1f} p99 {data[p + 'p99']:.1f} ms "
                      f"tokens {data[p + 'tokTotal']:.0f}", file=sys.stderr)
    finally:
        # SIGINT = Ctrl-C: uvicorn shuts down gracefully and the DB connection closes, so
        # SQLite checkpoints the WAL, matching Glassbox's "stop, then measure" at rest.
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        print(f"phoenix stopped, rc {proc.returncode}", file=sys.stderr)
        log.close()
    print(f"bytes at rest per span {dir_bytes(a.workdir) / spans:.0f}  "
          f"(total {dir_bytes(a.workdir) / 2**20:.1f} MiB, after clean stop)")


if __name__ == "__main__":
    main()
