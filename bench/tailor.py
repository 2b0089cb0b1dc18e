"""`make bench`'s composition run: the seed page assembled by Zalando Tailor (node-tailor from
npm, ``tests/web/node/tailor_server.js``) from our three regions, side by side with our own
assembled page, page views per second, round by round in alternating order.

Both serve the whole seed page with its five ad spots decided per page view. Tailor asks the
origin (gunicorn, ``config/gunicorn.conf.py``) for the header, main and aside regions in
parallel and writes a ``<link>`` for each stylesheet their ``Link`` headers name; our page is
one request. The target (issue 15): ours stays >= 4x Tailor's page views/s. Tailor runs as one
node process, as node-tailor is deployed per core; both share the machine with wrk.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pages import (
    ROOT,
    SEED_MARKER,
    SEED_PATH,
    BenchError,
    demo_env,
    fetch,
    free_port,
    gunicorn,
    load_demo,
    run_wrk,
    wait_for_quiet,
)

NODE_MODULES = ROOT / ".cache" / "node" / "node_modules"
TAILOR_SERVER = ROOT / "tests" / "web" / "node" / "tailor_server.js"
SLUG = SEED_PATH.rsplit("/", 1)[1]
TEMPLATE = """<!doctype html>
<html lang="en-US">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tailor</title></head>
<body class="ls-page ls-page--article">
<fragment src="{origin}/fragments/article/{slug}/header"></fragment>
<fragment primary src="{origin}/fragments/article/{slug}/main"></fragment>
<fragment src="{origin}/fragments/article/{slug}/aside"></fragment>
</body>
</html>
"""
TARGET = 4.0


@contextmanager
def tailor(templates: Path) -> Iterator[str]:
    """node-tailor serving ``templates``; its base URL."""
    process = subprocess.Popen(
        ["node", str(TAILOR_SERVER), str(templates)], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, start_new_session=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES), "LS_NODE_MODULES": str(NODE_MODULES)})
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            raise BenchError(f"node-tailor did not start ({port!r})")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def check(url: str, stylesheets: int) -> None:
    """The seed page at ``url``, its five ad spots filled, at least ``stylesheets`` linked."""
    status, _headers, body = fetch(url)
    spots, links = body.count(b'class="ad-spot"'), body.count(b'rel="stylesheet"')
    if status != 200 or SEED_MARKER not in body or spots != 5 or links < stylesheets:
        raise BenchError(f"{url} answered {status} with {spots} ad spots and {links} "
                         f"stylesheets ({body[:200]!r})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run (3)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per mode (5)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per mode (2)")
    parser.add_argument("--quiet-wait", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results as JSON")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    if not (NODE_MODULES / "node-tailor" / "package.json").is_file():
        print("node-tailor is not installed (make bench installs it)", file=sys.stderr)
        return 2
    views: dict[str, list[float]] = {"ours": [], "tailor": []}
    with tempfile.TemporaryDirectory(prefix="layoutserver-tailor-bench-") as tmpdir:
        tmp = Path(tmpdir)
        env = demo_env(tmp)
        try:
            load_demo(env)
            port = free_port()
            with gunicorn({**env, "PORT": str(port)}, tmp / "server.log", port) as (origin, pid):
                (tmp / "article.html").write_text(TEMPLATE.format(origin=origin, slug=SLUG))
                with tailor(tmp) as composer:
                    plan = {"ours": origin + SEED_PATH, "tailor": composer + "/article"}
                    check(plan["ours"], 0)  # its stylesheets are inlined
                    check(plan["tailor"], 7)  # each region's, the core one in each
                    for url in plan.values():
                        run_wrk(url, args, args.warmup)
                    names = list(plan)
                    for round_no in range(args.rounds):
                        for name in names[round_no % 2:] + names[:round_no % 2]:
                            wait_for_quiet(args.quiet_wait)
                            # "other": CPU of neither gunicorn nor wrk (Tailor's own, too)
                            result, _cpu, other = run_wrk(plan[name], args, args.duration,
                                                          server=pid)
                            views[name].append(result.requests_per_sec)
                            print(f"   round {round_no + 1}  {name:<6} "
                                  f"{result.requests_per_sec:8.1f} page views/s  "
                                  f"p99 {result.latency_p99:>8}  other {other:.2f} cores",
                                  flush=True)
        except BenchError as exc:
            print(f"\ntailor bench FAILED: {exc}", file=sys.stderr)
            return 1
    ours, theirs = statistics.median(views["ours"]), statistics.median(views["tailor"])
    ratio = ours / theirs
    print("\nseed page + 5 ad spots, medians of the rounds:")
    print(f"  ours    {ours:8.1f} page views/s (one request, stylesheets inlined)")
    print(f"  tailor  {theirs:8.1f} page views/s (three region requests, Link headers)")
    print(f"  ours over Tailor's  {ratio:.2f}  (target >= {TARGET:g})")
    if args.json:
        args.json.write_text(json.dumps({"views_per_sec": views, "ratio": ratio}, indent=2)
                             + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
