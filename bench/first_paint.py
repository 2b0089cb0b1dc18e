"""First paint of the seed page on a slow network, its stylesheets inlined or linked
(``PAGE_CSS``), side by side in one run: the system Chromium (Playwright) with DevTools'
"Slow 4G" throttling and an empty cache, round by round in alternating order.

Slow 4G as Lighthouse's DevTools throttling has it: 150 ms round trip and 1.6 Mbit/s down,
750 kbit/s up, times DevTools' adjustments (latency x 3.75, throughput x 0.9).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
from pathlib import Path

from pages import SEED_PATH, BenchError, demo_env, free_port, gunicorn, load_demo

LATENCY_MS = 150 * 3.75
DOWNLOAD_BYTES_PER_S = 1.6 * 1024 * 1024 / 8 * 0.9
UPLOAD_BYTES_PER_S = 750 * 1024 / 8 * 0.9
PAINTS = """() => Object.fromEntries(performance.getEntriesByType('paint')
                                     .map(entry => [entry.name, entry.startTime]))"""


def first_paint(browser: object, url: str) -> tuple[float, float]:
    """(first paint, first contentful paint) in ms of one cold load of ``url``."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": LATENCY_MS, "downloadThroughput": DOWNLOAD_BYTES_PER_S,
        "uploadThroughput": UPLOAD_BYTES_PER_S})
    page.goto(url, wait_until="load")
    page.wait_for_timeout(200)
    paints = page.evaluate(PAINTS)
    context.close()
    return float(paints["first-paint"]), float(paints["first-contentful-paint"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7, help="loads per mode (7)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    from playwright.sync_api import sync_playwright

    results: dict[str, list[tuple[float, float]]] = {"link": [], "inline": []}
    with tempfile.TemporaryDirectory(prefix="layoutserver-paint-") as tmpdir:
        tmp = Path(tmpdir)
        env = demo_env(tmp)
        try:
            load_demo(env)
            link_port, inline_port = free_port(), free_port()
            with gunicorn({**env, "PORT": str(link_port), "LAYOUTSERVER_PAGE_CSS": "link"},
                          tmp / "link.log", link_port) as (link_url, _),  \
                 gunicorn({**env, "PORT": str(inline_port), "LAYOUTSERVER_PAGE_CSS": "inline"},
                          tmp / "inline.log", inline_port) as (inline_url, _), \
                 sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=["--no-sandbox", "--disable-gpu", "--disable-quic"])
                urls = {"link": link_url + SEED_PATH, "inline": inline_url + SEED_PATH}
                for url in urls.values():  # warm the servers' caches
                    first_paint(browser, url)
                for round_no in range(args.rounds):
                    order = ["link", "inline"] if round_no % 2 == 0 else ["inline", "link"]
                    for mode in order:
                        results[mode].append(first_paint(browser, urls[mode]))
                        fp, fcp = results[mode][-1]
                        print(f"   round {round_no + 1}  {mode:<6}  first paint {fp:7.0f} ms"
                              f"  first contentful paint {fcp:7.0f} ms", flush=True)
                browser.close()
        except BenchError as exc:
            print(f"\nfirst-paint bench FAILED: {exc}", file=sys.stderr)
            return 1
    print("\nseed page on Slow 4G, cold cache, medians:")
    for mode, runs in results.items():
        print(f"  {mode:<6}  first paint {statistics.median(r[0] for r in runs):7.0f} ms  "
              f"first contentful paint {statistics.median(r[1] for r in runs):7.0f} ms")
    link_fcp = statistics.median(r[1] for r in results["link"])
    inline_fcp = statistics.median(r[1] for r in results["inline"])
    print(f"  inline over link (first contentful paint)  {inline_fcp / link_fcp:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
