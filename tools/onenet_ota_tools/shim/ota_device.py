# One boot of a simulated device, on CPython or the unix micropython (run with the
# device's "filesystem" as the current directory):
#   ota_device.py CONFIG.json [SLOT_SIZE]
# Prints "PROGRESS done total" lines and a last line "SUMMARY {json}". Exit code 3
# means the agent reset the device (machine.reset): the host boots it again.
import sys

import ota_shim


def _mem():
    try:
        import gc

        m = gc.mem_alloc
        gc.collect()
        return m()
    except (ImportError, AttributeError):
        return None


try:
    import os as _os

    _HS = _os.getenv("OTA_HEAP_STATS") or ""
except (ImportError, AttributeError):
    _os = None
    _HS = ""
_BASE0 = _mem() if _HS else None


def _heap_stats(agent, cfg):
    if _HS not in ("1", "2"):
        return None
    from onenet_ota import journal

    # On a board the agent's code is frozen into flash and costs no heap. Load here
    # all the code this run will use, so that the baseline is "code loaded" and the
    # peak above it is the agent's data (buffers, answers, records).
    mods = ["socket", "select", "hashlib", "onenet_ota.transport", "onenet_ota.auth",
            "onenet_ota.digest", "onenet_ota.api", "onenet_ota.http", "onenet_ota.jsonlite",
            "onenet_ota.sink_" + cfg["sink"]]
    if cfg["sink"] == "esp32":
        mods.append("onenet_ota.esp32img")
    for m in mods:
        try:
            __import__(m)
        except ImportError:
            pass

    return _HeapStats(_HS == "2", agent, journal, _BASE0)


# OTA_HEAP_STATS=1 (onenet-ota bench; off by default): one extra line "HEAPSTATS {json}"
# with the download phase's time (fetch._fetch_all, first request to last byte), journal
# writes (journal._write calls) and, on MicroPython, the heap in use at start and after
# the imports (baseline). OTA_HEAP_STATS=2 adds the live-heap high-water mark (collect,
# then gc.mem_alloc() at every chunk and journal write) and the bytes allocated over
# chunks 20..120 with the collector off (no PROGRESS printed in that window), less what
# the host's flash stand-in (esp32.Partition writeblocks/ioctl) allocates meanwhile.
class _HeapStats:
    def __init__(self, full, agent, journal, base0):
        import gc
        import time

        self.gc, self.time, self.full = gc, time, full
        self.mem = getattr(gc, "mem_alloc", None)
        self.base0 = base0
        self.peak = 0
        self.n = self.jw = self.dl_jw = self.dl_us = self.dl_bytes = 0
        # window chunks with neither a journal write nor a progress step ("plain")
        self.steps = self.ev_prev = self.plain = self.plain_allocs = self.plain_bytes = 0
        self.m0 = self.m1 = self.prev = self.allocs = -1
        self.ex = self.ex_prev = 0
        self.quiet = False
        if full and self.mem is not None:
            self._exclude_flash()
        from onenet_ota import fetch  # the download step's module (loaded in that phase)

        f, w = fetch._fetch_all, journal._write

        def _fetch_all(a, task, rec):
            b0, j0, t0 = a.summary["bytes"], self.jw, time.ticks_us()
            try:
                return f(a, task, rec)
            finally:
                self.dl_us += time.ticks_diff(time.ticks_us(), t0)
                self.dl_bytes += a.summary["bytes"] - b0
                self.dl_jw += self.jw - j0

        def _write(p, data):
            self.jw += 1
            if self.full and not self.quiet:
                self._live()
            w(p, data)

        step = fetch._step_due

        def _step(a, task, off, size, pstep):
            self.steps += 1
            return step(a, task, off, size, pstep)

        fetch._fetch_all = _fetch_all
        journal._write = _write
        fetch._step_due = _step
        # last: the stats' own objects (and the flash stand-in they hook) are baseline
        self.base = self._live()
        self.peak = 0

    def _exclude_flash(self):
        try:
            import esp32
        except ImportError:
            return
        P, mem = esp32.Partition, self.mem
        wb, io = P.writeblocks, P.ioctl

        def writeblocks(p, n, buf, off=None):
            m = mem()
            wb(p, n, buf, off)
            if self.quiet:
                self.ex += mem() - m

        def ioctl(p, cmd, arg=None):
            m = mem()
            r = io(p, cmd, arg)
            if self.quiet:
                self.ex += mem() - m
            return r

        P.writeblocks, P.ioctl = writeblocks, ioctl

    def _live(self):
        if self.mem is None:
            return None
        self.gc.collect()
        m = self.mem()
        if self.full and m > self.peak:
            self.peak = m
        return m

    def chunk(self, done, total):
        # After each chunk; allocates nothing inside the window (opened only when 100
        # more chunks of the same size follow).
        if not self.full or self.mem is None:
            return
        self.n += 1
        n = self.n
        if n < 20:
            self._live()
        elif n == 20 and (total - done) // (done // 20) >= 100:
            self._live()
            self.gc.disable()
            self.quiet = True
            self.m0 = self.prev = self.mem()
            self.allocs = 0
            self.ev_prev = self.jw + self.steps
        elif n <= 120 and self.quiet:
            m = self.mem()
            d = m - self.prev - (self.ex - self.ex_prev)
            if d:
                self.allocs += 1
            ev = self.jw + self.steps
            if ev == self.ev_prev:
                self.plain += 1
                if d:
                    self.plain_allocs += 1
                    self.plain_bytes += d
            self.ev_prev = ev
            self.prev, self.ex_prev = m, self.ex
            if n == 120:
                self.m1 = m
                self.gc.enable()
                self.quiet = False
        else:
            self._live()

    def line(self, a):
        d = {"base_start": self.base0, "base": self.base, "peak": self.peak if self.full else None,
             "win_chunks": 100 if self.m1 >= 0 else 0,
             "win_bytes": self.m1 - self.m0 - self.ex if self.m1 >= 0 else None,
             "win_flash_bytes": self.ex if self.m1 >= 0 else None,
             "win_alloc_chunks": self.allocs if self.m1 >= 0 else None,
             "win_plain_chunks": self.plain, "win_plain_alloc_chunks": self.plain_allocs,
             "win_plain_bytes": self.plain_bytes,
             "journal_writes": self.jw, "dl_journal_writes": self.dl_jw, "dl_us": self.dl_us, "dl_bytes": self.dl_bytes,
             "conns": a.c.connections, "reqs": a.c.requests}
        if self.quiet:
            self.gc.enable()
        try:
            import json

            return "HEAPSTATS " + json.dumps(d)
        except ImportError:
            return "HEAPSTATS " + repr(d)


def main(argv):
    slot = int(argv[2]) if len(argv) > 2 else 0x180000
    # The device's filesystem is importable, as on a board (sys.path has ''): e.g. the
    # config's self_test module. Last, so it never shadows the firmware or the shim.
    if "" not in sys.path:
        sys.path.append("")
    ota_shim.install(".", esp32_slot_size=slot)
    from onenet_ota import agent, board, config, runloop

    # OTA_CUT_AT=i (power-cut sweeps): journal writes count as flash operations, a
    # power cut at the i-th one (0: none) ends the process with exit code 4; an
    # "OPS n" line before SUMMARY gives the operations of this boot.
    cut = _os.getenv("OTA_CUT_AT") if _os else None
    if cut is not None:
        from onenet_ota import journal

        ota_shim.count_fs(journal)
        ota_shim.cut_at(int(cut))

    try:
        cfg = config.load(argv[1])
    except config.ConfigError as e:
        print("CONFIGERROR " + str(e))
        sys.exit(2)
    hs = _heap_stats(agent, cfg)
    if cfg["sink"] == "esp32":
        ota_shim.boot()
    last = [-1]

    def progress(done, total):
        if hs:
            hs.chunk(done, total)
            if hs.quiet:
                return
        pct = done * 100 // total
        if pct != last[0]:
            last[0] = pct
            print("PROGRESS", done, total)

    b = board.make(cfg)
    # OTA_IDLE_CYCLES=n (`onenet-ota device --cycles n+1`, the MQTT tests): after a cycle with nothing to do, wait as
    # runloop.main does between cycles (notify.wait when "mqtt" is configured, else
    # check_interval) and run another, at most n times; the last cycle's summary is printed.
    idle = int(_os.getenv("OTA_IDLE_CYCLES") or 0) if _os else 0
    n = runloop.notifier(cfg, getattr(b, "log", None)) if idle else None
    # a board may bring its own log (nrf52832: a file, not the REPL's UART)
    a = agent.Agent(cfg, b, progress=progress, log=getattr(b, "log", None))
    code = 0
    try:
        s = a.run()
        while idle > 0 and s["result"] == "none":
            idle -= 1
            runloop.idle(n, cfg["check_interval"] * 1000)
            a = agent.Agent(cfg, b, progress=progress, log=getattr(b, "log", None))
            s = a.run()
    except ota_shim.Reset:
        s = a.summary
        s["result"] = "reset"
        code = 3
    except ota_shim.PowerCut:
        s = a.summary
        s["result"] = "cut"
        code = 4
    if n:
        n.close()
        s["mqtt"] = {"connects": n.connects, "informs": n.informs, "replies": n.replies}
    if cut is not None:
        print("OPS", ota_shim.op_count())
    if hs:
        print(hs.line(a))
    try:
        import json

        print("SUMMARY " + json.dumps(s))
    except ImportError:
        print("SUMMARY " + repr(s))
    sys.exit(code)


main(sys.argv)
