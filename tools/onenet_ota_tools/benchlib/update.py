# The dynamic measurements: one simulator (in-process, port 0), one device per run (a
# fresh dev_id and state folder each time, so runs never share a task), curl fetching
# the same ranges over one keep-alive connection.
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import time

from .. import SHIM, runtimes
from ..cli import CommandError
from ..commands.device import _config, _seed_flash, run_device
from ..images import make_app_image
from ..sim import Simulator

# The platform documentation's example key (as `demo`): nothing secret.
PRODUCT = {"product_id": "123123", "access_key": "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="}
PROFILE = {"unix": ("100", "10001"), "esp32": ("101", "10101"), "nrf52832": ("102", "10201")}  # manuf, model
CURL = "/usr/bin/curl"


def _stats(text):
    # A HEAPSTATS line: JSON, or a dict's repr where the device has no json (nRF52832).
    import ast

    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


class Bench:
    def __init__(self, root, size):
        self.root = root
        self.size = size
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        # An ESP32 app image (valid for the esp32 sink; plain bytes for the file sink).
        self.image = make_app_image(size, "V2.0", seed=7)
        self.sim = Simulator(os.path.join(root, "sim"), port=0).start()
        self._n = 0

    def close(self):
        self.sim.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _task(self, board="unix"):
        self._n += 1
        dev = str(700000000 + self._n)
        manuf, model = PROFILE[board]
        t = self.sim.publish(data=self.image, target="V2.0", manuf=manuf, model=model, retry=3,
                             interval=1, dev_id=dev, **PRODUCT)
        return dev, t

    def _args(self, dev, runtime, chunk, heap, board, sets=()):
        state = os.path.join(self.root, "dev", dev)
        return argparse.Namespace(
            runtime=runtime, server=self.sim.url, board=board, version="V1.0", state_dir=state,
            sink=("file:" + os.path.join(state, "pkg.bin")) if board == "unix" else None,
            chunk=chunk, heap=heap, slot_size=0x180000, set=list(sets), json=False, quiet=True,
            dev_id=dev, modem="bc26", sim_fault=[], **PRODUCT)

    # One whole update (all boots). stats: OTA_HEAP_STATS ("1" time and journal, "2" heap
    # figures too, "" none). -> {ok, summary, hs (the download boot's HEAPSTATS), sim, log}
    def update(self, runtime, chunk, heap="256k", stats="1", board="unix", sets=()):
        dev, task = self._task(board)
        args = self._args(dev, runtime, chunk, heap, board, sets)
        self.sim.stats.reset()
        lines = []
        old = os.environ.get("OTA_HEAP_STATS")
        os.environ["OTA_HEAP_STATS"] = stats
        try:
            s = run_device(args, log=lines.append)
        except CommandError:
            s = None
        finally:
            if old is None:
                os.environ.pop("OTA_HEAP_STATS", None)
            else:
                os.environ["OTA_HEAP_STATS"] = old
            shutil.rmtree(args.state_dir, ignore_errors=True)
        boots = [_stats(l[10:]) for l in lines if l.startswith("HEAPSTATS ")]
        hs = max(boots, key=lambda b: b["dl_bytes"]) if boots else None
        ok = bool(s and s["result"] == "updated" and s["sink_md5"] == task["md5"])
        return {"ok": ok, "summary": s, "hs": hs, "boots": boots, "sim": self.sim.stats.as_dict(),
                "log": [l for l in lines if not l.startswith("HEAPSTATS ")][-12:]}

    # curl, one process, one transfer per range (config file, `next` between them).
    # -> {seconds (sum of time_total), wall (process), connects (curl), sim_connections}
    def curl(self, chunk):
        _dev, task = self._task()
        url = "%s/ota/south/download/%s" % (self.sim.url, task["token"])
        blocks = []
        for start in range(0, self.size, chunk):
            end = min(self.size, start + chunk) - 1
            blocks.append('url = "%s"\nrange = "%d-%d"\noutput = "/dev/null"\nsilent\n'
                          'write-out = "%%{num_connects} %%{time_total} %%{size_download}\\n"\n'
                          % (url, start, end))
        cfg = os.path.join(self.root, "curl-%d.cfg" % chunk)
        with open(cfg, "w") as f:
            f.write("next\n".join(blocks))
        self.sim.stats.reset()
        t0 = time.monotonic()
        p = subprocess.run([CURL, "-K", cfg], capture_output=True, text=True, timeout=300)
        wall = time.monotonic() - t0
        rows = [l.split() for l in p.stdout.splitlines() if l.strip()]
        got = sum(int(float(r[2])) for r in rows)
        if p.returncode or len(rows) != len(blocks) or got != self.size:
            raise RuntimeError("curl failed (exit %d, %d transfers, %d bytes): %s"
                               % (p.returncode, len(rows), got, p.stderr[-500:]))
        st = self.sim.stats.as_dict()
        return {"seconds": sum(float(r[1]) for r in rows), "wall": wall,
                "connects": sum(int(r[0]) for r in rows), "sim_connections": st["connections"],
                "requests": st["requests"]}

    # Agent vs curl for one chunk size, `repeat` times each (interleaved); medians.
    # sets: agent settings (e.g. journal and progress off, to time the bare loop).
    def speed(self, runtime, chunk, repeat, sets=()):
        agent, curl, last = [], [], None
        for _ in range(repeat):
            r = self.update(runtime, chunk, stats="1", sets=sets)
            if not r["ok"]:
                raise RuntimeError("update failed (%s, %d): %s" % (runtime, chunk, r["log"]))
            agent.append(r["hs"]["dl_us"] / 1e6)
            c = self.curl(chunk)
            curl.append(c["seconds"])
            last = (r, c)
        r, c = last
        s = r["summary"]
        a, k = statistics.median(agent), statistics.median(curl)
        return {"runtime": runtime, "chunk": chunk, "agent_s": a, "curl_s": k, "ratio": a / k,
                "agent_runs": agent, "curl_runs": curl, "curl_wall": c["wall"],
                "curl_connects": c["connects"], "curl_sim_connections": c["sim_connections"],
                "requests": s["requests"], "connections": s["connections"], "boots": s["boots"],
                "sim_requests": r["sim"]["requests"], "sim_connections": r["sim"]["connections"],
                "dl_requests": r["hs"]["reqs"], "dl_connections": r["hs"]["conns"],
                "journal_writes": sum(b["journal_writes"] for b in r["boots"]),
                "dl_journal_writes": r["hs"]["dl_journal_writes"], "total_s": s["seconds"]}

    # Heap figures on micropython for one chunk size (collections at every chunk: slow,
    # so never mixed with the timing runs).
    def heap(self, chunk, heap="4m", board="unix"):
        r = self.update("micropython", chunk, heap=heap, stats="2", board=board)
        if not r["ok"]:
            raise RuntimeError("update failed (heap stats, %d): %s" % (chunk, r["log"]))
        return dict(r["hs"], chunk=chunk)

    # Smallest -X heapsize (KiB) that completes the update: binary search in [lo, hi].
    def min_heap(self, chunk, lo=8, hi=64):
        tried = {}

        def ok(k):
            tried[k] = self.update("micropython", chunk, heap="%dk" % k, stats="")["ok"]
            return tried[k]

        while not ok(hi):
            lo, hi = hi, hi * 2
            if hi > 1024:
                return None, tried
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        return hi, tried

    # Kill a device mid-download, start it again: seconds from the restart (process
    # start) to its first PROGRESS line, i.e. the first byte stored after the resume
    # point; the fresh boot's figure alongside (that boot runs with 5 ms of server
    # latency per request, so it is an upper bound).
    # The esp32 profile: the file sink restarts from 0 (see the markdown's notes).
    def resume(self, runtime, chunk=4096, board="esp32"):
        dev, task = self._task(board)
        args = self._args(dev, runtime, chunk, "256k", board)
        os.makedirs(args.state_dir)
        if board == "esp32":
            _seed_flash(args.state_dir, args)
        cfgpath = os.path.join(args.state_dir, "config.json")
        with open(cfgpath, "w") as f:
            json.dump(_config(args), f)
        cmd = runtimes.command(runtime, os.path.join(SHIM, "ota_device.py"),
                               [cfgpath, str(args.slot_size)], args.heap)
        env = runtimes.env(compiled=runtime == "micropython")
        env.pop("OTA_HEAP_STATS", None)

        def boot(stop):
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, cwd=args.state_dir, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            first = at = None
            try:
                for line in p.stdout:
                    if line.startswith("ota: resuming at "):
                        at = int(line.split()[-1])
                    elif line.startswith("PROGRESS "):
                        done = int(line.split()[1])
                        if first is None:
                            first = (time.monotonic() - t0, done)
                        if stop(done):
                            break
            finally:
                p.kill()
                p.wait()
            return first, at

        # Slow the first boot's requests down (5 ms each) so the kill lands mid-download.
        self.sim.fault(dev, latency=0.005)
        fresh, _ = boot(lambda done: done >= self.size // 2)
        self.sim.clear_faults(dev)
        first, at = boot(lambda done: True)
        shutil.rmtree(args.state_dir, ignore_errors=True)
        if first is None:
            raise RuntimeError("resume: the restarted device stored nothing")
        at = -1 if at is None else at  # -1: it started over from 0
        return {"runtime": runtime, "chunk": chunk, "board": board, "fresh_s": fresh[0], "resume_s": first[0],
                "resumed_at": at, "first_done": first[1]}
