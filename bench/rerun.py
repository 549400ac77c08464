"""What-if slider reruns in a real browser: latency, server CPU per rerun and server memory over a long run.

    .venv/bin/python -m bench.rerun --database-url sqlite:////tmp/work/s1m.db
    .venv/bin/python -m bench.rerun --database-url sqlite:////tmp/wi.db --moves 400 --gc false

Starts `streamlit run bin/streamlit_app.py` on 127.0.0.1 (tests/browser_support.py's server, the same
command bin/run uses), signs in as the demo manager in Debian's chromium (Playwright), opens the what-if
simulator and moves the marketplace-fee slider one step at a time (right, left, right, ...): each move reruns
only the simulator fragment. A move's latency runs from the key press until the fragment's run token (the page's
`wi-run` marker) has changed and the app is idle again. The server's CPU time (utime + stime of the process,
from /proc/<pid>/stat) and RSS (/proc/<pid>/status) are read before and after every block of moves.

`--gc` chooses Streamlit's `runner.postScriptGC` for the server (default: both, alternating, `--rounds` each);
"config" leaves .streamlit/config.toml's value. Targets (issue 18): server CPU per slider rerun < 0.05 s,
browser slider move < 150 ms median on a quiet machine, RSS bounded over a long run of reruns.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

CPU_TARGET_SECONDS = 0.05
LATENCY_TARGET_SECONDS = 0.150
BLOCK = 50  # moves between two memory samples
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (fields 14 and 15 of /proc/<pid>/stat, after the parenthesised name)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return resident_pages * PAGE_SIZE / 2**20


def run_once(database_url: str, gc: str, moves: int, log_dir: Path) -> dict:
    from tests.browser_support import (
        DEMO_PASSWORDS,
        LIVE,
        METRIC,
        StreamlitServer,
        chromium_browser,
        goto,
        log_in,
        open_from_nav,
        wait_idle,
    )

    inside = f".st-key-wi_fragment_run {LIVE} .wi-run"
    slider_selector = f"{LIVE}[class*='st-key-wi_mfee_'] input[type=range]"
    extra = () if gc == "config" else ("--runner.postScriptGC", gc)
    server = StreamlitServer(database_url, log_dir / f"streamlit-gc-{gc}-{time.time_ns()}.log", extra_args=extra)
    server.start()
    pid = server.process.pid
    try:
        with chromium_browser() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            goto(page, server.url())
            log_in(page, "manager", DEMO_PASSWORDS["manager"])
            open_from_nav(page, "What-if simulator")
            page.wait_for_selector(f"{METRIC} >> text=Contribution margin", timeout=60_000)
            page.wait_for_selector(inside, state="attached", timeout=60_000)
            wait_idle(page, start_ms=0)
            slider = page.locator(slider_selector)
            slider.focus()
            latencies, cpu_per_block, rss = [], [], [rss_mb(pid)]
            cpu_start = cpu_seconds(pid)
            block_cpu = cpu_start
            for move in range(moves):
                before = page.locator(inside).get_attribute("data-run")
                started = time.perf_counter()
                slider.press("ArrowRight" if move % 2 == 0 else "ArrowLeft")
                page.wait_for_function(
                    """([selector, before]) => {
                        const el = document.querySelector(selector);
                        return el && el.getAttribute('data-run') !== before; }""",
                    arg=[inside, before], timeout=30_000, polling="raf",
                )
                wait_idle(page, settle_ms=0, start_ms=0)
                latencies.append(time.perf_counter() - started)
                if (move + 1) % BLOCK == 0 or move + 1 == moves:
                    now = cpu_seconds(pid)
                    cpu_per_block.append((now - block_cpu) / ((move % BLOCK) + 1))
                    block_cpu = now
                    rss.append(rss_mb(pid))
            cpu_total = cpu_seconds(pid) - cpu_start
            page.close()
    except Exception:
        print(f"--- server log (tail) ---\n{server.log()[-3000:]}")
        raise
    finally:
        server.stop()
    return {"gc": gc, "moves": moves, "latency_median": statistics.median(latencies),
            "latency_p95": statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 20 else max(latencies),
            "cpu_per_rerun": cpu_total / moves, "cpu_per_block": cpu_per_block, "rss": rss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rerun", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a seeded database (python -m data.seed)")
    parser.add_argument("--moves", type=int, default=200, help="slider moves per server")
    parser.add_argument("--gc", choices=["both", "true", "false", "config"], default="both")
    parser.add_argument("--rounds", type=int, default=2, help="servers per setting, alternating")
    args = parser.parse_args(argv)
    os.environ.setdefault("CBO_BCRYPT_ROUNDS", "4")
    settings = ["true", "false"] if args.gc == "both" else [args.gc]
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min)")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-rerun-") as logs:
        for round_ in range(args.rounds):
            for gc in settings:
                result = run_once(args.database_url, gc, args.moves, Path(logs))
                results.append(result)
                print(f"  round {round_ + 1} postScriptGC={gc:6} latency median {result['latency_median'] * 1000:6.0f} ms"
                      f"  p95 {result['latency_p95'] * 1000:6.0f} ms  server CPU/rerun "
                      f"{result['cpu_per_rerun'] * 1000:5.1f} ms  RSS MB "
                      + " ".join(f"{m:.0f}" for m in result["rss"]), flush=True)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min)")
    for gc in settings:
        mine = [r for r in results if r["gc"] == gc]
        cpu = statistics.median(r["cpu_per_rerun"] for r in mine)
        latency = statistics.median(r["latency_median"] for r in mine)
        growth = statistics.median(r["rss"][-1] - r["rss"][1] for r in mine)  # after the first block: warmed up
        print(f"postScriptGC={gc:6}: median of {len(mine)} servers: latency {latency * 1000:.0f} ms "
              f"({'ok' if latency < LATENCY_TARGET_SECONDS else 'over'} {LATENCY_TARGET_SECONDS * 1000:.0f} ms), "
              f"server CPU per rerun {cpu * 1000:.1f} ms ({'ok' if cpu < CPU_TARGET_SECONDS else 'over'} "
              f"{CPU_TARGET_SECONDS * 1000:.0f} ms), RSS growth after the first {BLOCK} moves {growth:+.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
