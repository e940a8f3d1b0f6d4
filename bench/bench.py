#!/usr/bin/env python3
"""patmine benchmarks: each figure is a ratio against a baseline measured in the same run.

  bench/bench.py scan CORPUS [--limit N]   parse-only floor, full scan, cached re-scan, the seed
                                           pipeline (with --seed-pipeline PATH), medians of
                                           alternating floor/scan runs (--rounds, and --compare
                                           BINARY for a before/after), and ast-grep on the
                                           analysed files: its time, and its counts of five node
                                           kinds as a recount of patmine's
  bench/bench.py history REPO              parse-only floor of the unique blobs, full history,
                                           an update after one new commit, and GitEvo; then the
                                           trackers: alternating runs with and without the
                                           built-in trackers, one `pattern:` tracker added to the
                                           analysed history (against the floor), `migrations`

Needs a release build (cargo build --release; PATMINE_BIN overrides the binary's path, else
$CARGO_TARGET_DIR/release/patmine or target/release/patmine). bench/make-npm-corpus.sh DIR builds
a corpus. Each peer runs only when it is there, else a one-line note says what to install:
  seed pipeline  --seed-pipeline PATH to seed_pipeline.py, the seed guide's reference pipeline
                 (Part 14); pip install tree-sitter tree-sitter-javascript tree-sitter-typescript
                 rapidfuzz networkx
  ast-grep       pip install ast-grep-cli (or an ast-grep binary on PATH); pip install duckdb
                 (to read the scan's database for the recount)
  GitEvo         pip install gitevo (run as python3 -m gitevo)
"""
import argparse, importlib.util, json, os, resource, shutil, statistics, subprocess, sys, sysconfig
import tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PATMINE_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "patmine")
SEED_PACKAGES = {"tree_sitter": "tree-sitter", "tree_sitter_javascript": "tree-sitter-javascript",
                 "tree_sitter_typescript": "tree-sitter-typescript", "rapidfuzz": "rapidfuzz",
                 "networkx": "networkx"}


def missing_modules(modules):
    """The pip names of the `modules` (import name -> pip name) this interpreter cannot import."""
    return [pip for mod, pip in modules.items() if importlib.util.find_spec(mod) is None]


def ast_grep_binary():
    """ast-grep on PATH, or the one `pip install ast-grep-cli` put beside this interpreter."""
    return shutil.which("ast-grep") or shutil.which("ast-grep", path=sysconfig.get_path("scripts"))


def run(cmd, cwd=None):
    """Runs cmd under /usr/bin/time; returns (seconds, peak RSS in MiB, stdout)."""
    with tempfile.NamedTemporaryFile("r") as t:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", t.name] + cmd, cwd=cwd,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        secs = time.perf_counter() - start
        if p.returncode not in (0, 1):
            sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
        rss = int(t.read().strip().splitlines()[-1]) / 1024
    return secs, rss, p.stdout


def row(name, files, secs, rss, base=None):
    rate = files / secs if secs else 0
    ratio = f"{secs / base:6.2f}x" if base else "   base"
    print(f"{name:<40} {files:>8} files {secs:>8.2f} s {rate:>9.0f} files/s {ratio}  peak {rss:>7.0f} MiB")


def limited_corpus(corpus, limit, work):
    """The first `limit` JS/TS files of the corpus (sorted paths), hard-linked into one tree."""
    if not limit:
        return corpus
    exts = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx")
    paths = []
    for d, dirs, files in os.walk(corpus):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(exts):
                paths.append(os.path.join(d, f))
    out = os.path.join(work, "corpus")
    for p in paths[:limit]:
        dest = os.path.join(out, os.path.relpath(p, corpus))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.link(p, dest)
    return out


def scan(args):
    work = tempfile.mkdtemp(prefix="patmine-bench-")
    corpus = limited_corpus(os.path.abspath(args.corpus), args.limit, work)
    db = os.path.join(work, "bench.duckdb")
    common = ["--keep-vendored"]
    # One unmeasured pass first: a freshly linked tree's directories are not in the kernel's
    # caches yet, and whichever command ran first would pay for that.
    run([BIN, "floor", corpus] + common)
    s, r, out = run([BIN, "floor", corpus] + common)
    floor = json.loads(out)
    row("parse-only floor", floor["parsed"], s, r)
    floor_s = s
    s, r, out = run([BIN, "--db", db, "-q", "scan", corpus, "--json", "--top", "10"] + common)
    summary = json.loads(out)["summary"]
    scan_s, scan_files = s, summary["parsed"] + summary["cached"]
    row("patmine scan", scan_files, s, r, floor_s)
    s, r, out = run([BIN, "--db", db, "-q", "scan", corpus, "--json", "--top", "10"] + common)
    again = json.loads(out)["summary"]
    row("patmine scan again (cache)", again["parsed"] + again["cached"], s, r, floor_s)
    seed = seed_pipeline(args.seed_pipeline)
    if seed:
        s, r, out = run([sys.executable, seed, corpus, "--out", os.path.join(work, "seed")])
        res = json.loads(out.strip().splitlines()[-1])
        row("seed pipeline (Python)", res["ok"], s, r, floor_s)
        print(f"\npatmine scan vs seed pipeline: {(scan_files / scan_s) / (res['ok'] / s):.1f}x the files per second")
    print(f"patmine scan vs parse-only floor: {scan_s / floor_s:.2f}x the time")
    if args.rounds:
        alternating(corpus, os.path.join(work, "alternating.duckdb"), args.rounds, args.compare)
    sg = None if args.no_ast_grep else ast_grep_binary()
    if sg:
        ast_grep(sg, db, work)
    elif not args.no_ast_grep:
        print("ast-grep comparison skipped: pip install ast-grep-cli (or put an ast-grep binary on PATH)")
    shutil.rmtree(work, ignore_errors=True)


def seed_pipeline(path):
    """The seed pipeline's script if it was given and can run here; otherwise None, after a
    one-line note saying what is missing."""
    pip = "pip install " + " ".join(SEED_PACKAGES.values())
    if not path:
        print("seed pipeline skipped: pass --seed-pipeline PATH to seed_pipeline.py (the seed "
              f"guide's reference pipeline, Part 14), after {pip}")
        return None
    missing = missing_modules(SEED_PACKAGES)
    if missing:
        print(f"seed pipeline skipped: pip install {' '.join(missing)} (its imports)")
        return None
    return os.path.abspath(path)


def timed(cmd):
    """Runs cmd; returns (wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def alternating(corpus, db, rounds, others):
    """The floor and the scan (of a fresh database), and the scan of each other build given,
    in turn, `rounds` times: medians of wall and CPU time. On a noisy machine a single run's
    ratio moves by 5-10%; alternating runs see the same noise."""
    builds = [("patmine scan", BIN)] + [(f"scan by {b}", b) for b in others]
    walls = {name: [] for name in ["parse-only floor"] + [n for n, _ in builds]}
    cpus = {name: [] for name in walls}
    for _ in range(rounds):
        w, c = timed([BIN, "floor", corpus, "--keep-vendored"])
        walls["parse-only floor"].append(w); cpus["parse-only floor"].append(c)
        for name, build in builds:
            for f in (db, db + ".wal"):
                if os.path.exists(f):
                    os.remove(f)
            w, c = timed([build, "--db", db, "-q", "scan", corpus, "--json", "--top", "10",
                          "--keep-vendored"])
            walls[name].append(w); cpus[name].append(c)
    floor = statistics.median(walls["parse-only floor"])
    print(f"\n{rounds} alternating runs, medians:")
    for name in walls:
        w, c = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"{name:<40} wall {w:6.2f} s {w / floor:6.2f}x the floor   CPU {c:6.2f} s")
    # Each scan against the floor run just before it: the machine's drift over the rounds
    # cancels, and the spread says how far one round's ratio is from another's.
    print("per round, scan / the floor of the same round (median, middle half, all):")
    for name, _ in builds:
        ratios = sorted(w / f for w, f in zip(walls[name], walls["parse-only floor"]))
        low, mid, high = quartiles(ratios)
        print(f"{name:<40} {mid:5.2f}x   {low:.2f}-{high:.2f}x   "
              f"{ratios[0]:.2f}-{ratios[-1]:.2f}x")


def quartiles(values):
    """The first quartile, median and third quartile of sorted `values` (one value: itself)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    low, mid, high = statistics.quantiles(values, n=4, method="inclusive")
    return low, mid, high


# patmine root kind -> the node kinds its queries capture for it (queries/*.scm): roots that are
# counted once per node, so another tool's count of those nodes must equal patmine's occurrences.
RECOUNT_KINDS = {
    "import": ["import_statement"],
    "export": ["export_statement"],
    "class": ["class_declaration", "abstract_class_declaration"],
    "new": ["new_expression"],
    "await": ["await_expression"],
}


def ast_grep(sg, db, work):
    """ast-grep over exactly the files the scan analysed (hard-linked into a tree of their own):
    its time against patmine's full scan of the same tree, and its node counts against patmine's
    pattern occurrences of the same kinds."""
    try:
        import duckdb
    except ImportError:
        print("ast-grep recount skipped: pip install duckdb (to read the scan's database)")
        return
    with duckdb.connect(db, read_only=True) as con:
        scan_id, root = con.execute("SELECT scan_id, root FROM scans ORDER BY scan_id LIMIT 1").fetchone()
        paths = [r[0] for r in con.execute(
            "SELECT path FROM scan_files WHERE scan_id = ? AND blob_row IS NOT NULL", [scan_id]).fetchall()]
        ours = dict(con.execute(
            """SELECT p.kind, sum(p.occurrences)::BIGINT FROM scan_files f
               JOIN blob_patterns p USING (blob_row) WHERE f.scan_id = ? GROUP BY p.kind""",
            [scan_id]).fetchall())
    tree = os.path.join(work, "analysed")
    for p in paths:
        dest = os.path.join(tree, p)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.link(os.path.join(root, p), dest)
    rules = "---\n".join(
        f"id: {kind}.{node}.{lang}\nlanguage: {lang}\nrule:\n  kind: {node}\n"
        for lang in ("javascript", "typescript", "tsx")
        for kind, nodes in RECOUNT_KINDS.items() for node in nodes
        # abstract classes exist in the TypeScript grammars only
        if not (lang == "javascript" and node == "abstract_class_declaration"))
    s, r, _ = run([BIN, "--db", os.path.join(work, "analysed.duckdb"), "-q", "scan", tree,
                   "--json", "--top", "10", "--keep-vendored"])
    row("patmine scan (analysed files only)", len(paths), s, r)
    scan_s = s
    with tempfile.NamedTemporaryFile("w+") as out:
        s, r, _ = run(["sh", "-c", '"$1" scan --inline-rules "$2" --json=stream --no-ignore hidden '
                       '--no-ignore vcs --no-ignore dot --no-ignore parent "$3" > "$4"',
                       "sh", sg, rules, tree, out.name])
        theirs = {}
        for line in out:
            kind = json.loads(line)["ruleId"].split(".")[0]
            theirs[kind] = theirs.get(kind, 0) + 1
    row(f"ast-grep, {sum(map(len, RECOUNT_KINDS.values()))} node kinds, JSON per match", len(paths), s, r, scan_s)
    recount_s = s
    # ast-grep's cheapest pass: one rule (a rare node), only the names of matching files printed.
    one_rule = "---\n".join(f"id: await.{lang}\nlanguage: {lang}\nrule:\n  kind: await_expression\n"
                            for lang in ("javascript", "typescript", "tsx"))
    s, r, _ = run([sg, "scan", "--inline-rules", one_rule, "--files-with-matches",
                   "--no-ignore", "hidden", "--no-ignore", "vcs", "--no-ignore", "dot",
                   "--no-ignore", "parent", tree])
    row("ast-grep, one rule, file names only", len(paths), s, r, scan_s)
    print(f"\npatmine scan (every idiom, stored) vs ast-grep: {scan_s / recount_s:.2f}x the time of its "
          f"node-kind recount, {scan_s / s:.2f}x the time of its one-rule pass")
    bad = 0
    for kind in RECOUNT_KINDS:
        same = ours.get(kind, 0) == theirs.get(kind, 0)
        bad += not same
        print(f"  recount {kind:<7} patmine {ours.get(kind, 0):>8}  ast-grep {theirs.get(kind, 0):>8}  "
              f"{'equal' if same else 'DIFFERENT'}")
    if bad:
        sys.exit(f"{bad} recount(s) differ")


def history(args):
    work = tempfile.mkdtemp(prefix="patmine-bench-")
    repo = os.path.join(work, "repo")
    subprocess.run(["git", "clone", "-q", "--no-local", os.path.abspath(args.repo), repo], check=True)
    db = os.path.join(work, "h.duckdb")
    run([BIN, "floor", "--git", repo])  # unmeasured: warms the caches for every measured run
    s, r, out = run([BIN, "floor", "--git", repo])
    floor = json.loads(out)
    floor_s = s
    row("parse-only floor (unique blobs)", floor["parsed"], s, r)
    # One commit less first, so that the update below has a real new commit to analyse.
    s, r, out = run([BIN, "--db", db, "-q", "history", repo, "--rev", "HEAD~1", "--json", "--top", "5"])
    full = json.loads(out)["summary"]
    row(f"patmine history ({full['analysed']} commits)", full["blobs_parsed"], s, r, floor_s)
    full_s = s
    s, r, out = run([BIN, "--db", db, "-q", "history", repo, "--json", "--top", "5"])
    upd = json.loads(out)["summary"]
    row(f"patmine history update ({upd['analysed']} commit)", upd["blobs_parsed"], s, r, full_s)
    print(f"\nhistory vs parse-only floor: {full_s / floor_s:.2f}x the time; update vs first run: {100 * s / full_s:.1f}%")
    if args.no_gitevo:
        pass
    elif importlib.util.find_spec("gitevo") is None:
        print("GitEvo comparison skipped: pip install gitevo")
    else:
        s, r, out = run([sys.executable, "-m", "gitevo", "-r", args.gitevo_report, repo, "-f", "2010"],
                        cwd=work)
        print(f"GitEvo (one snapshot a year, no cache): {s:.2f} s, peak {r:.0f} MiB; "
              f"patmine's {full['analysed']} commits took {full_s / s:.2f}x GitEvo's time")
    trackers(repo, db, work, floor_s, args.rounds)
    shutil.rmtree(work, ignore_errors=True)


def trackers(repo, db, work, floor_s, rounds):
    """What the trackers cost: the history with the built-in trackers against the same history
    without any (fresh databases, alternating, medians); adding one `pattern:` tracker to the
    analysed history against the parse-only floor; `migrations` from the database alone."""
    print("\ntrackers")
    with_t, without_t = [], []
    for i in range(rounds):
        for extra, times in (([], with_t), (["--no-trackers"], without_t)):
            fresh = os.path.join(work, f"t{i}{len(extra)}.duckdb")
            # --json: the text output's range summary reads the migrations back, which is not
            # counting.
            times.append(timed([BIN, "--db", fresh, "-q", "history", repo, "--json", "--top", "1"] + extra)[0])
            os.remove(fresh)
    w, wo = statistics.median(with_t), statistics.median(without_t)
    print(f"history with the built-in trackers: {w:.2f} s, without: {wo:.2f} s (medians of {rounds}): "
          f"{w / wo:.2f}x")
    extra = os.path.join(work, "one-pattern.yaml")
    with open(extra, "w") as f:
        f.write("extends: default\ntrackers:\n  - name: console-call\n"
                "    pattern: console.$METHOD($$$ARGS)\n")
    s, r, out = run([BIN, "--db", db, "-q", "history", repo, "--trackers", extra, "--json", "--top", "1"])
    added = json.loads(out)["summary"]
    print(f"one pattern tracker added to the analysed history: {s:.2f} s for "
          f"{added['tracker_blobs_evaluated']} blobs ({added['tracker_blobs_parsed']} parsed), "
          f"{s / floor_s:.2f}x the parse-only floor")
    s, _, _ = run([BIN, "--db", db, "migrations", "--trackers", extra])
    print(f"patmine migrations (the table, from the database): {s:.2f} s")
    s, _, _ = run([BIN, "--db", db, "migrations", "var-to-let-const", "--trackers", extra])
    print(f"patmine migrations var-to-let-const (series, attribution, frontier): {s:.2f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("scan"); a.add_argument("corpus"); a.add_argument("--limit", type=int, default=0)
    a.add_argument("--seed-pipeline", metavar="PATH",
                   help="seed_pipeline.py, the seed guide's reference pipeline, to time against "
                        "(without it that comparison is skipped)")
    a.add_argument("--no-ast-grep", action="store_true")
    a.add_argument("--rounds", type=int, default=5,
                   help="alternating floor/scan runs whose medians are reported (0: none)")
    a.add_argument("--compare", action="append", default=[], metavar="BINARY",
                   help="another patmine build to scan in the alternating runs (repeatable)")
    b = sub.add_parser("history"); b.add_argument("repo"); b.add_argument("--no-gitevo", action="store_true")
    b.add_argument("--rounds", type=int, default=3,
                   help="alternating runs with and without trackers whose medians are reported")
    b.add_argument("--gitevo-report", default="javascript", choices=["javascript", "typescript"],
                   help="GitEvo's report: javascript (the issue's command) or typescript (for TS repositories)")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"no binary at {BIN}: run cargo build --release (or set PATMINE_BIN)")
    if getattr(args, "seed_pipeline", None) and not os.path.isfile(args.seed_pipeline):
        sys.exit(f"--seed-pipeline {args.seed_pipeline}: no such file")
    {"scan": scan, "history": history}[args.cmd](args)


if __name__ == "__main__":
    main()
