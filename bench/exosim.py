"""exosim benchmark: simultaneous calls held by one process, and status callbacks per second.

    .venv/bin/python bench/exosim.py [--calls 1000] [--callbacks 2000] [--concurrency 64]

Everything runs on 127.0.0.1 and stops by itself:

* exosim runs in this process, served by uvicorn on this script's event loop; the load comes
  from an ``httpx.AsyncClient`` on the same loop, over the real REST API and loopback TCP.
* The callback receiver is a tiny ASGI app in a child process (this script with
  ``--serve-receiver PORT``), so counting callbacks does not compete with exosim for the GIL.

1. Held calls: raise the account's voice limit, script 2·N virtual phones that answer and hang
   up only after an hour, place N two-number calls through ``Calls/connect.json`` with bounded
   concurrency, wait until all N have both legs answered and bridged, confirm that through
   ``/_exosim/calls``, and report placement time, RSS per held call (``VmRSS`` delta ÷ N, which
   includes the two phones and every record of the call) and, on a further sample of calls,
   the Python heap per call from ``tracemalloc``.
2. Callbacks: on a fresh exosim with a manual clock, place M calls whose caller is busy and
   whose ``StatusCallback`` is the receiver, then move the clock past the busy signal so every
   call ends at once, and count delivered callbacks per second at the receiver.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import platform
import socket
import ssl
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

# Run as a script, this file's folder comes first on sys.path, where "exosim" would be this
# very file rather than the package: drop that folder before importing the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]

from exosim.app import create_app  # noqa: E402
from exosim.config import SimConfig  # noqa: E402
from exosim.runtime import Sim  # noqa: E402

SID, KEY, TOKEN = "exosim", "exosim-key", "exosim-token"
CALLER_ID = "08047091234"
HOLD_SECONDS = 3600.0  # phones stay on the line this long: far beyond the benchmark
WAIT_LIMIT = 120.0  # give up on any wait after this many real seconds
PHONES_PER_SCENARIO = 4000  # a scenario holds at most 10 000 phones and 1 MB


# -- machine and process figures ------------------------------------------------------------
def machine() -> dict[str, str]:
    """CPU count and model, RAM, Python and OS."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "CPUs": f"{os.cpu_count()} × {model}",
        "RAM": f"{_meminfo_kib('MemTotal') / 1024 / 1024:.1f} GiB",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "OS": platform.platform(),
    }


def _meminfo_kib(key: str) -> int:
    path = Path("/proc/meminfo")
    if not path.exists():
        return 0
    for line in path.read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def rss_bytes() -> int:
    """Current resident set size of this process (``VmRSS``), after a full collection."""
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# -- servers --------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve(app: Any, port: int) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 in this event loop until the block ends.

    The same loop as the load generator: a second thread would only add GIL hand-offs.
    """
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 15
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError(f"exosim on port {port} did not start")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=60)


def receiver_app() -> Any:
    """An ASGI app answering 200 to every POST and counting them; ``GET /stats`` reports."""
    stats: dict[str, Any] = {"count": 0, "first": None, "last": None}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        more = True
        while more:  # drain the body so the connection can be reused
            more = (await receive()).get("more_body", False)
        if scope["method"] == "GET" and scope["path"] == "/stats":
            body = json.dumps(stats).encode()
        else:
            now = time.monotonic()
            stats["count"] += 1
            stats["first"] = stats["first"] or now
            stats["last"] = now
            body = b"ok"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


@contextmanager
def receiver_process() -> Iterator[str]:
    """Run the receiver in a child process; yields its base URL and stops it afterwards."""
    port = free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve-receiver", str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{url}/stats", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the callback receiver did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# -- driving exosim -------------------------------------------------------------------------
def caller(i: int) -> str:
    """The i-th caller: 098xxxxxxxx (a valid Indian mobile number)."""
    return f"0{9_800_000_000 + i}"


def callee(i: int) -> str:
    """The i-th callee: 097xxxxxxxx."""
    return f"0{9_700_000_000 + i}"


async def control(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    """Call ``/_exosim/<path>`` and return its JSON (raises on an error status)."""
    response = await http.request(method, f"/_exosim/{path}", **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


async def script_phones(http: httpx.AsyncClient, scripts: dict[str, dict[str, Any]]) -> None:
    """Script many phones through ``POST /_exosim/phones/scenario`` (in chunks)."""
    items = list(scripts.items())
    for start in range(0, len(items), PHONES_PER_SCENARIO):
        chunk = dict(items[start : start + PHONES_PER_SCENARIO])
        await control(http, "POST", "phones/scenario", content=json.dumps({"phones": chunk}))


async def place_calls(
    url: str, indices: Iterable[int], concurrency: int, **extra: str
) -> tuple[list[str], Counter[int], float]:
    """POST ``Calls/connect.json`` for every index, ``concurrency`` at a time.

    Each worker has its own one-connection client: httpcore's pool bookkeeping grows with the
    number of queued requests (encode/httpcore#1035), and would be measured instead of exosim.
    Returns the call sids, a count of non-200 answers by status, and the wall time taken.
    """
    todo = iter(indices)
    sids: list[str] = []
    errors: Counter[int] = Counter()

    async def worker() -> None:
        async with _client(url, 1) as http:
            for i in todo:  # one shared iterator: each index is taken by exactly one worker
                data = {"From": caller(i), "To": callee(i), "CallerId": CALLER_ID, **extra}
                response = await http.post(f"/v1/Accounts/{SID}/Calls/connect.json", data=data)
                if response.status_code == 200:
                    sids.append(response.json()["Call"]["Sid"])
                else:
                    errors[response.status_code] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sids, errors, time.perf_counter() - started


def _bridged(sim: Sim, sid: str) -> bool:
    call = sim.store.calls.get(sid)
    if call is None or call.status != "in-progress" or len(call.legs) != 2:
        return False
    return all(leg.answered_at is not None and leg.ended_at is None for leg in call.legs)


async def wait_until(check: Any, what: str) -> float:
    """Poll ``check()`` until it is true; returns the seconds waited (fails after a bound)."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > WAIT_LIMIT:
            raise RuntimeError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


@functools.cache
def _tls() -> ssl.SSLContext:
    # httpx builds a TLS context per client (~0.2 s, ~1 MiB) even for http://; share one.
    return ssl.create_default_context()


def _client(url: str, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        base_url=url, auth=(KEY, TOKEN), limits=limits, timeout=60, verify=_tls()
    )


def _hold_scripts(indices: Iterable[int]) -> dict[str, dict[str, Any]]:
    script = {"behaviour": "answer", "answer_after": 1, "hangup_after": HOLD_SECONDS}
    phones: dict[str, dict[str, Any]] = {}
    for i in indices:
        phones[caller(i)] = phones[callee(i)] = script
    return phones


# -- 1. simultaneous calls ------------------------------------------------------------------
async def held_calls(calls: int, sample: int, concurrency: int) -> dict[str, str]:
    """Place ``calls`` long calls, hold them all at once, and measure what each costs."""
    config = SimConfig(port=free_port())
    app: FastAPI = create_app(config)
    async with serve(app, config.port) as url:
        sim: Sim = app.state.sim
        async with _client(url, 4) as http:
            await control(http, "PATCH", f"accounts/{SID}", json={"voice_per_minute": 1_000_000})
            # Warm-up: one call and one hang-up load every lazily imported code path.
            warm, _, _ = await place_calls(url, [calls + sample], 1, TimeLimit="14400")
            await control(http, "POST", f"calls/{warm[0]}/hangup")
            await wait_until(lambda: sim.store.calls[warm[0]].terminal, "the warm-up call")

            rss_before = rss_bytes()
            await script_phones(http, _hold_scripts(range(calls)))
            sids, errors, placing = await place_calls(
                url, range(calls), concurrency, TimeLimit="14400", TimeOut="30"
            )
            bridging = await wait_until(
                lambda: all(_bridged(sim, s) for s in sids), f"{len(sids)} bridged calls"
            )
            rss_after = rss_bytes()

            # Confirm through the inspection API that they are all live at the same moment.
            started = time.perf_counter()
            listed = await control(http, "GET", "calls")
            listing = time.perf_counter() - started
            wanted = set(sids)
            live = sum(
                1
                for c in listed
                if c["sid"] in wanted
                and c["status"] == "in-progress"
                and all(leg["answered_at"] and not leg["ended_at"] for leg in c["legs"])
            )
            del listed

            # Exotel API latency while all those calls are held.
            latencies = []
            for sid in sids[:200]:
                t0 = time.perf_counter()
                got = await http.get(f"/v1/Accounts/{SID}/Calls/{sid}.json")
                latencies.append(time.perf_counter() - t0)
                got.raise_for_status()

            # Python heap per call, on a further sample (tracemalloc slows everything down).
            tracemalloc.start()
            gc.collect()
            heap_before = tracemalloc.get_traced_memory()[0]
            extra_range = range(calls, calls + sample)
            await script_phones(http, _hold_scripts(extra_range))
            extra, extra_errors, _ = await place_calls(
                url, extra_range, concurrency, TimeLimit="14400"
            )
            await wait_until(lambda: all(_bridged(sim, s) for s in extra), "the sample calls")
            gc.collect()
            heap_per_call = (tracemalloc.get_traced_memory()[0] - heap_before) / max(1, len(extra))
            tracemalloc.stop()
            held_total = sum(1 for s in [*sids, *extra] if _bridged(sim, s))
        shutdown_started = time.perf_counter()
    shutdown = time.perf_counter() - shutdown_started
    per_call = (rss_after - rss_before) / max(1, len(sids))
    errors.update(extra_errors)
    return {
        "calls placed (REST, 200 OK)": f"{len(sids)} / {calls}",
        "non-200 answers": ", ".join(f"{k}×{v}" for k, v in errors.items()) or "none",
        "time to place them": f"{placing:.2f} s ({len(sids) / placing:.0f} calls/s, "
        f"concurrency {concurrency})",
        "then until all were bridged": f"{bridging:.2f} s (1 s ring per leg, real clock)",
        "held at once (both legs up)": f"{live} per /_exosim/calls ({listing:.2f} s to list)",
        "held at peak incl. sample": f"{held_total}",
        "RSS before → after": f"{rss_before / 2**20:.1f} → {rss_after / 2**20:.1f} MiB",
        "RSS per held call": f"{per_call / 1024:.1f} KiB (incl. its 2 virtual phones)",
        "Python heap per call": f"{heap_per_call / 1024:.1f} KiB (tracemalloc, {len(extra)} calls)",
        "GET Calls/<sid>.json while held": f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms ({len(latencies)} sequential)",
        "shutdown (cancel every call)": f"{shutdown:.2f} s",
    }


# -- 2. callbacks per second ----------------------------------------------------------------
async def _receiver_count(probe: httpx.AsyncClient, receiver: str) -> int:
    return int((await probe.get(f"{receiver}/stats")).json()["count"])


def _attempts(sim: Sim, sids: list[str]) -> list[Any]:
    return [a for s in sids for a in sim.store.calls[s].callbacks]


async def _callback_sim(
    url: str, sim: Sim, total: int, concurrency: int, receiver: str, waves: int
) -> tuple[list[str], float]:
    """Freeze the clock and place ``total`` calls whose callers never answer.

    Call ``i`` rings for ``1 + i % waves`` s, so each one-second clock advance ends one wave.
    """
    async with _client(url, 4) as http:
        await control(http, "PATCH", f"accounts/{SID}", json={"voice_per_minute": 1_000_000})
        await control(http, "POST", "clock", json={"mode": "manual"})
        await script_phones(http, {caller(i): {"behaviour": "no_answer"} for i in range(total)})
    sids: list[str] = []
    placing = 0.0
    for wave in range(waves):
        wave_sids, errors, seconds = await place_calls(
            url,
            range(wave, total, waves),
            concurrency,
            StatusCallback=f"{receiver}/status",
            TimeOut=str(1 + wave),
        )
        if errors:
            raise RuntimeError(f"placing calls failed: {dict(errors)}")
        sids += wave_sids
        placing += seconds
    await wait_until(lambda: all(sim.store.calls[s].legs for s in sids), "every call to ring")
    return sids, placing


async def callback_waves(
    total: int, wave_size: int, concurrency: int, receiver: str
) -> dict[str, str]:
    """End calls ``wave_size`` at a time (next wave once the last is delivered); time it."""
    waves = max(1, -(-total // wave_size))
    config = SimConfig(port=free_port())
    app: FastAPI = create_app(config)
    async with serve(app, config.port) as url:
        sim: Sim = app.state.sim
        sids, placing = await _callback_sim(url, sim, total, concurrency, receiver, waves)
        async with _client(url, 4) as http, httpx.AsyncClient(verify=_tls()) as probe:
            base = await _receiver_count(probe, receiver)
            started = time.perf_counter()
            for wave in range(waves):
                await control(http, "POST", "clock", json={"advance": 1})
                target = min(total, (wave + 1) * wave_size)
                while await _receiver_count(probe, receiver) - base < target:
                    if time.perf_counter() - started > WAIT_LIMIT:
                        raise RuntimeError(f"wave {wave}: callbacks stopped arriving")
                    await asyncio.sleep(0.005)
            wall = time.perf_counter() - started
            await wait_until(lambda: len(_attempts(sim, sids)) >= total, "exosim's log")
            ok = sum(1 for a in _attempts(sim, sids) if a.status_code == 200)
    return {
        "calls placed (StatusCallback set)": f"{len(sids)} in {placing:.2f} s "
        f"({len(sids) / placing:.0f} calls/s)",
        "callbacks delivered": f"{total} in {waves} waves of ≤{wave_size} "
        f"(exosim logged {ok} × 200)",
        "first advance → last delivered": f"{wall:.2f} s → {total / wall:.0f} callbacks/s",
    }


async def callback_burst(total: int, concurrency: int, receiver: str) -> dict[str, str]:
    """End ``total`` calls at the same instant: every callback is queued at once."""
    config = SimConfig(port=free_port())
    app: FastAPI = create_app(config)
    async with serve(app, config.port) as url:
        sim: Sim = app.state.sim
        sids, _ = await _callback_sim(url, sim, total, concurrency, receiver, 1)
        async with _client(url, 4) as http, httpx.AsyncClient(verify=_tls()) as probe:
            base = await _receiver_count(probe, receiver)
            started = time.perf_counter()
            await control(http, "POST", "clock", json={"advance": 1})
            # Every first attempt ends (delivered, or failed by a timeout) within ~20 s;
            # retries then wait on the frozen clock.
            while time.perf_counter() - started < 60:
                if len(_attempts(sim, sids)) >= total:
                    break
                await asyncio.sleep(0.05)
            wall = time.perf_counter() - started
            delivered = await _receiver_count(probe, receiver) - base
            outcomes = Counter(
                "200" if a.status_code == 200 else (a.error or str(a.status_code)).split(":")[0]
                for a in _attempts(sim, sids)
            )
    return {
        "first attempts finished": f"{sum(outcomes.values())} / {total} after {wall:.1f} s",
        "delivered to the receiver": f"{delivered} → {delivered / wall:.0f} callbacks/s",
        "outcomes logged by exosim": ", ".join(f"{k} × {v}" for k, v in outcomes.most_common()),
    }


# -- output ---------------------------------------------------------------------------------
def table(title: str, rows: dict[str, str]) -> None:
    """Print one titled two-column table."""
    width = max(len(k) for k in rows)
    print(f"\n{title}\n{'-' * len(title)}")
    for key, value in rows.items():
        print(f"{key:<{width}}  {value}")


async def run(args: argparse.Namespace) -> None:
    """Both measurements, one after the other, each on a fresh emulator."""
    table("Machine", machine())
    held = await held_calls(args.calls, args.sample, args.concurrency)
    table(f"1. Simultaneous calls held by one exosim process (N={args.calls})", held)
    with receiver_process() as receiver:
        waves = await callback_waves(args.callbacks, args.wave, args.concurrency, receiver)
        table(f"2a. Status callbacks per second ({args.callbacks} calls, in waves)", waves)
        if args.burst:
            burst = await callback_burst(args.burst, args.concurrency, receiver)
            table(f"2b. Burst: {args.burst} calls ending at the same instant", burst)


def main() -> None:
    """Parse flags and run the benchmark (or the receiver, in the child process)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls to hold at once")
    parser.add_argument("--callbacks", type=int, default=2000, help="callbacks to deliver")
    parser.add_argument("--wave", type=int, default=100, help="calls ending per clock step")
    parser.add_argument("--burst", type=int, default=1000, help="calls ending at once (0: skip)")
    parser.add_argument("--sample", type=int, default=200, help="calls traced by tracemalloc")
    parser.add_argument("--concurrency", type=int, default=32, help="parallel API requests")
    parser.add_argument("--serve-receiver", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        uvicorn.run(
            receiver_app(),
            host="127.0.0.1",
            port=args.serve_receiver,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        return
    if min(args.calls, args.callbacks, args.sample, args.concurrency, args.wave) < 1:
        parser.error("--calls, --callbacks, --sample, --wave and --concurrency must be ≥ 1")
    if -(-args.callbacks // args.wave) > 3600:
        parser.error("at most 3600 waves (TimeOut is at most 3600 s)")
    if max(args.calls + args.sample, args.callbacks, args.burst) >= 100_000:
        parser.error("at most 99 999 calls (the benchmark's phone numbers run out)")
    started = time.perf_counter()
    asyncio.run(run(args))
    print(f"\nTotal benchmark time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
