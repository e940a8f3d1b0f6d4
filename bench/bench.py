#!/usr/bin/env python3
"""patmine benchmarks: each figure is a ratio against a baseline measured in the same run.

  bench/bench.py scan CORPUS [--limit N]   parse-only floor, full scan, cached re-scan, and the
                                           seed pipeline (../shared/peers/seed_pipeline.py)
  bench/bench.py history REPO              parse-only floor of the unique blobs, full history,
                                           an update after one new commit, and GitEvo

Needs a release build (cargo build --release; PATMINE_BIN overrides the binary's path). Peers:
pip install tree-sitter tree-sitter-javascript tree-sitter-typescript rapidfuzz networkx gitevo.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PATMINE_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "patmine")
SHARED = os.environ.get("PATMINE_SHARED", os.path.join(ROOT, "..", "shared"))


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
    print(f"{name:<34} {files:>8} files {secs:>8.2f} s {rate:>9.0f} files/s {ratio}  peak {rss:>7.0f} MiB")


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
    seed = os.path.join(SHARED, "peers", "seed_pipeline.py")
    if os.path.exists(seed) and not args.no_seed:
        s, r, out = run([sys.executable, seed, corpus, "--out", os.path.join(work, "seed")])
        res = json.loads(out.strip().splitlines()[-1])
        row("seed pipeline (Python)", res["ok"], s, r, floor_s)
        print(f"\npatmine scan vs seed pipeline: {(scan_files / scan_s) / (res['ok'] / s):.1f}x the files per second")
    print(f"patmine scan vs parse-only floor: {scan_s / floor_s:.2f}x the time")
    shutil.rmtree(work, ignore_errors=True)


def history(args):
    work = tempfile.mkdtemp(prefix="patmine-bench-")
    repo = os.path.join(work, "repo")
    subprocess.run(["git", "clone", "-q", "--no-local", os.path.abspath(args.repo), repo], check=True)
    db = os.path.join(work, "h.duckdb")
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
    if shutil.which("gitevo") and not args.no_gitevo:
        s, r, out = run(["gitevo", "-r", args.gitevo_report, repo, "-f", "2010"], cwd=work)
        print(f"GitEvo (one snapshot a year, no cache): {s:.2f} s, peak {r:.0f} MiB; "
              f"patmine's {full['analysed']} commits took {full_s / s:.2f}x GitEvo's time")
    shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("scan"); a.add_argument("corpus"); a.add_argument("--limit", type=int, default=0)
    a.add_argument("--no-seed", action="store_true")
    b = sub.add_parser("history"); b.add_argument("repo"); b.add_argument("--no-gitevo", action="store_true")
    b.add_argument("--gitevo-report", default="javascript", choices=["javascript", "typescript"],
                   help="GitEvo's report: javascript (the issue's command) or typescript (for TS repositories)")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"no binary at {BIN}: run cargo build --release (or set PATMINE_BIN)")
    {"scan": scan, "history": history}[args.cmd](args)


if __name__ == "__main__":
    main()
