#!/usr/bin/env python3
"""Peer benchmark: ingest an OTLP corpus into Arize Phoenix (SQLite) and measure it the way
crates/bench/src/main.rs measures Glassbox. Use the Phoenix venv's python (it has
opentelemetry-proto for span counting, and `phoenix` to run the server):
  /var/tmp/phoenix-venv/bin/python crates/bench/peer/phoenix_bench.py \
      --corpus /tmp/corpus-small --workdir /tmp/phoenix-bench
Stdlib only otherwise, so nothing needs installing."""
import argparse, glob, json, os, shutil, signal, sqlite3, statistics, subprocess, sys
import threading, time, urllib.error, urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def count_corpus(files):
    """(spans, sorted model names), or (None, []) if opentelemetry-proto isn't importable."""
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
        for ss in (ss for rs in req.resource_spans for ss in rs.scope_spans):
            spans += len(ss.spans)
            # Phoenix maps gen_ai.request.model -> llm.model_name at ingest
            # (phoenix/trace/gen_ai/conversion.py); we filter on that below.
            models.update(a.value.string_value for s in ss.spans for a in s.attributes
                          if a.key == "gen_ai.request.model")
    return spans, sorted(models)


def proc_tree(root):
    """root + all descendants. Phoenix is a single uvicorn process today, but summing the
    tree keeps CPU/RSS honest if it ever spawns workers."""
    kids = {}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{d}/stat") as fh:
                kids.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [root]
    while todo:
        out.append(todo.pop())
        todo += kids.get(out[-1], [])
    return out


def proc_usage(root):
    """(CPU seconds = utime+stime+cutime+cstime, sum of VmHWM bytes) over the tree."""
    cpu = hwm = 0
    for p in proc_tree(root):
        try:
            with open(f"/proc/{p}/stat") as fh:
                cpu += sum(int(x) for x in fh.read().rsplit(")", 1)[1].split()[11:15])
            with open(f"/proc/{p}/status") as fh:
                hwm += next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) * 1024
        except (OSError, StopIteration):
            pass  # process exited between listing and reading
    return cpu / CLK_TCK, hwm


def dir_bytes(d):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)


def http(url, data=None, headers=None, timeout=30):
    with urllib.request.urlopen(urllib.request.Request(url, data, headers or {}),
                                timeout=timeout) as r:
        return r.status, r.read()


def graphql(base, query, timeout=120):
    _, body = http(f"{base}/graphql", json.dumps({"query": query}).encode(),
                   {"Content-Type": "application/json"}, timeout)
    doc = json.loads(body)
    if doc.get("errors"):
        raise RuntimeError(f"GraphQL errors: {doc['errors']}")
    return doc["data"]["getProjectByName"] or {}


_bust = [0]


def fresh_range():
    """On SQLite, Phoenix caches record counts, token counts and latency quantiles across
    requests (CacheForDataLoaders, keyed by time range + filter; invalidated asynchronously
    after inserts). A time range covering everything but unique per call forces real SQL
    every time. (Phoenix's own UI always sends a timeRange, so this is its normal path.)"""
    _bust[0] += 1
    return f'{{start: "1970-01-01T00:00:00Z", end: "2999-01-01T00:00:00.{_bust[0]:06d}Z"}}'


def aggregate_query(project, models):
    """Phoenix can't GROUP BY model for latency, so per model we ask for span-latency
    p50/p95/p99, token sums and span count with filterCondition llm.model_name == '<m>',
    as aliases in ONE GraphQL request (Phoenix then runs one SQL query per field)."""
    tr, fields = fresh_range(), []
    groups = [(f"m{i}_", f'filterCondition: "llm.model_name == \'{m}\'", ')
              for i, m in enumerate(models)] or [("all_", "")]
    for a, flt in groups:
        fields += [f"{a}p{q}: spanLatencyMsQuantile(probability: {q / 100}, {flt}timeRange: {tr})"
                   for q in (50, 95, 99)]
        fields += [f"{a}tok{k}: tokenCount{k}({flt}timeRange: {tr})"
                   for k in ("Total", "Prompt", "Completion")]
        fields.append(f"{a}spans: recordCount({flt}timeRange: {tr})")
    return f'{{ getProjectByName(name: "{project}") {{ {" ".join(fields)} }} }}'


def send_all(url, files, exporters, deadline):
    """Exporter threads pull files off a shared list; 429/503 (Phoenix answers 503 when its
    span queue is full) are retried with capped backoff, anything else aborts the run."""
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
                        return errors.append(f"{path}: HTTP {e.code}")
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 1.0)
                except Exception as e:  # connection refused/reset, timeout: fail, don't hang
                    return errors.append(f"{path}: {e!r}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(exporters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if errors or any(t.is_alive() for t in threads):
        raise RuntimeError(f"send failed: {errors or 'timeout'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True, help="folder of NNNNN.traces.pb")
    ap.add_argument("--workdir", required=True, help="PHOENIX_WORKING_DIR; wiped every run")
    ap.add_argument("--port", type=int, default=6006)
    ap.add_argument("--grpc-port", type=int, help="Phoenix always opens gRPC too; default port+1")
    ap.add_argument("--exporters", type=int, default=4)
    ap.add_argument("--aggregate-runs", type=int, default=5)
    ap.add_argument("--spans", type=int, help="span count, if opentelemetry-proto is missing")
    ap.add_argument("--models", help="comma-separated model names (default: from corpus)")
    ap.add_argument("--project", default="default", help="Phoenix project the spans land in")
    ap.add_argument("--timeout", type=float, default=600, help="seconds allowed per phase")
    ap.add_argument("--poll-interval", type=float, default=0.25,
                    help="seconds between span-count polls (each poll costs Phoenix CPU)")
    a = ap.parse_args()

    files = sorted(glob.glob(os.path.join(a.corpus, "*.traces.pb")))
    if not files:
        sys.exit(f"no *.traces.pb in {a.corpus}")
    spans, models = count_corpus(files)
    spans = spans or a.spans
    if not spans:
        sys.exit("opentelemetry-proto not importable: pass --spans N")
    models = a.models.split(",") if a.models else models

    workdir = os.path.abspath(a.workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    env = dict(os.environ, PHOENIX_WORKING_DIR=workdir,
               # explicit URL also wins over any PHOENIX_POSTGRES_* in the caller's env
               PHOENIX_SQL_DATABASE_URL=f"sqlite:///{workdir}/phoenix.db",
               PHOENIX_HOST="127.0.0.1", PHOENIX_PORT=str(a.port),
               PHOENIX_GRPC_PORT=str(a.grpc_port or a.port + 1),
               # offline box: no telemetry pixels, web fonts, WASM download, agent assistant
               PHOENIX_TELEMETRY_ENABLED="false", PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
               PHOENIX_DISABLE_AGENT_ASSISTANT="true")
    base = f"http://127.0.0.1:{a.port}"
    # Server log sits beside (not in) the workdir so it doesn't count as bytes at rest.
    log = open(workdir.rstrip("/") + ".server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "phoenix.server.main", "serve"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180  # a fresh DB runs all Alembic migrations first
        while True:
            if proc.poll() is not None:
                sys.exit(f"phoenix exited with {proc.returncode}; see {log.name}")
            try:
                if http(f"{base}/readyz", timeout=5)[0] == 200:  # readyz also pings the DB
                    break
            except Exception:
                if time.monotonic() > deadline:
                    sys.exit("phoenix did not become ready in 180 s")
                time.sleep(0.25)
        version = http(f"{base}/arize_phoenix_version")[1].decode()
        print(f"phoenix {version} ready; {len(files)} files, {a.exporters} exporters",
              file=sys.stderr)

        cpu0, _ = proc_usage(proc.pid)
        t0 = time.monotonic()
        send_all(f"{base}/v1/traces", files, a.exporters, t0 + a.timeout)
        t_sent = time.monotonic() - t0
        # A 200 from /v1/traces only means "queued for a background bulk inserter", so the
        # throughput that matters is first send -> every span visible to a fresh query.
        while (n := graphql(base, f'{{ getProjectByName(name: "{a.project}") {{ recordCount('
                                  f'timeRange: {fresh_range()}) }} }}', 30)
                    .get("recordCount", 0)) < spans:
            if time.monotonic() - t0 > a.timeout:
                sys.exit(f"only {n}/{spans} spans queryable after {a.timeout} s")
            time.sleep(a.poll_interval)
        t_q = time.monotonic() - t0
        cpu1, peak = proc_usage(proc.pid)

        print(f"spans {spans}")
        print(f"wall time to accepted {t_sent:.2f} s")
        print(f"throughput (accepted, not durable) {spans / t_sent:.0f} spans/s")
        print(f"wall time to queryable {t_q:.2f} s")
        print(f"throughput (queryable) {spans / t_q:.0f} spans/s")
        print(f"server CPU per span {(cpu1 - cpu0) * 1e3 / spans:.3f} ms")
        print(f"server peak RSS {peak / 2**20:.0f} MiB")

        if a.aggregate_runs > 0:
            ms = []
            for _ in range(a.aggregate_runs):
                q = aggregate_query(a.project, models)  # new time range -> uncached
                t = time.monotonic()
                data = graphql(base, q)
                ms.append((time.monotonic() - t) * 1e3)
            print(f"aggregate models {len(models) or 'none (project-level only)'}")
            print(f"aggregate median {statistics.median(ms):.2f} ms max {max(ms):.2f} ms")
            t = time.monotonic()
            graphql(base, q)  # identical query again: answered from Phoenix's result cache
            print(f"aggregate (cached repeat) {(time.monotonic() - t) * 1e3:.2f} ms")
            for i, m in enumerate(models or ["(all)"]):  # sanity check, not a metric
                p = f"m{i}_" if models else "all_"
                print(f"  {m}: spans {data[p + 'spans']} p50 {data[p + 'p50']:.0f} p95 "
                      f"{data[p + 'p95']:.0f} p99 {data[p + 'p99']:.0f} ms, tokens "
                      f"{data[p + 'tokTotal']:.0f}", file=sys.stderr)
    finally:
        # SIGINT = Ctrl-C: uvicorn runs its graceful shutdown (exit code 0).
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        print(f"phoenix stopped, exit code {proc.returncode}", file=sys.stderr)
        log.close()
    # Even after a clean exit Phoenix leaves its WAL un-checkpointed, so report what it
    # leaves on disk, and the size with the WAL folded into the db file (comparable to
    # Glassbox's "stop gracefully, then measure").
    raw = dir_bytes(workdir)
    db = sqlite3.connect(os.path.join(workdir, "phoenix.db"))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    ckpt = dir_bytes(workdir)
    print(f"bytes at rest per span {raw / spans:.0f}  "
          f"(total {raw / 2**20:.1f} MiB: db+wal+shm after clean stop)")
    print(f"bytes at rest per span, WAL checkpointed {ckpt / spans:.0f}  "
          f"(total {ckpt / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
