# `bench --link`: whole updates through the link emulator (linkemu.Link) between the
# device and the simulator, next to curl fetching the same package in one request
# over the same link in the same run. What each figure means:
#   whole   the link's busy time for the whole update, all boots: its first connection
#           to the last byte it delivered (the 201 and the version report); the host's
#           own set-up (state folder, process start) is not on the link
#   dl      the download boot's time from the first byte asked to the md5 check
#   limit   the package at the link's rate plus one RTT (linkemu.link_limit)
#   ratio   whole / limit (the target table in docs/PERFORMANCE.md)
#   wire    bytes over the link, both ways, all connections
import os
import subprocess
import time

from .. import linkemu
from .update import CURL, Bench

# profile -> (board, modem, size): the ESP32 profile over sockets, the nRF52832 one
# through a simulated NB-IoT modem on a UART.
PROFILES = {
    "esp32": ("esp32", None, 256 * 1024),
    "nrf52832-bc26": ("nrf52832", "bc26", 64 * 1024),
    "nrf52832-m5311": ("nrf52832", "m5311", 64 * 1024),
}


class LinkBench(Bench):
    def __init__(self, root, size, spec, loss=0.0):
        super().__init__(root, size)
        self.name, rate, rtt = linkemu.parse(spec)
        self.link = linkemu.Link(self.sim.port, rate, rtt, loss=loss)
        self.modem = "bc26"

    def close(self):
        self.link.stop()
        super().close()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.link.port

    def _args(self, dev, runtime, chunk, heap, board, sets=()):
        a = super()._args(dev, runtime, chunk, heap, board, sets)
        a.server = self.url
        a.modem = self.modem
        return a

    def _wire(self):
        s = self.link.stats
        return s["bytes_up"] + s["bytes_down"]

    # One whole update through the link -> figures.
    def run(self, runtime, board, modem, chunk, sets=()):
        self.modem = modem or "bc26"
        w0, c0 = self._wire(), self.link.stats["connections"]
        self.link.reset_times()
        t0 = time.monotonic()
        r = self.update(runtime, chunk, stats="1", board=board, sets=sets)
        wall = time.monotonic() - t0
        whole = self.link.busy() or wall
        if not r["ok"]:
            raise RuntimeError("update over the link failed (%s, %s): %s" % (runtime, board, r["log"]))
        limit = linkemu.link_limit(self.size, self.link.rate, self.link.rtt)
        return {"runtime": runtime, "board": board, "modem": modem, "chunk": chunk, "whole_s": whole,
                "dl_s": r["hs"]["dl_us"] / 1e6 if r["hs"] else None, "requests": r["sim"]["requests"],
                "connections": self.link.stats["connections"] - c0, "wire": self._wire() - w0,
                "limit_s": limit, "ratio": whole / limit, "wall_s": wall, "sets": list(sets)}

    # curl, one `bytes=0-` request for the whole package, over the same link.
    def curl_one(self):
        _dev, task = self._task()
        url = "%s/ota/south/download/%s" % (self.url, task["token"])
        t0 = time.monotonic()
        p = subprocess.run([CURL, "-s", "-r", "0-", "-o", os.devnull, "-w", "%{size_download}", url],
                           capture_output=True, text=True, timeout=600)
        wall = time.monotonic() - t0
        if p.returncode or int(float(p.stdout or 0)) != self.size:
            raise RuntimeError("curl over the link failed (exit %d): %s" % (p.returncode, p.stderr[-300:]))
        return wall


# Every profile on both runtimes over one link -> {"link", "rate", "rtt", "rows", "curl"}.
def measure(spec, root, runtimes=("cpython", "micropython"), profiles=tuple(PROFILES), log=print):
    out = {"link": None, "rows": [], "curl": {}}
    for prof in profiles:
        board, modem, size = PROFILES[prof]
        b = LinkBench(os.path.join(root, prof), size, spec)
        try:
            out.update(link=b.name, rate=b.link.rate, rtt=b.link.rtt)
            log("link %s: curl, %d KiB in one request" % (b.name, size // 1024))
            out["curl"][size] = b.curl_one()
            for rt in runtimes:
                chunk = 1024 if board == "nrf52832" else 4096
                log("link %s: %s on %s, %d B chunks" % (b.name, prof, rt, chunk))
                row = b.run(rt, board, modem, chunk)
                row["profile"] = prof
                row["curl_s"] = out["curl"][size]
                out["rows"].append(row)
        finally:
            b.close()
    return out


# Issue 15's targets: whole update / link limit, by (link, profile).
TARGETS = {("nb", "esp32"): 1.15, ("cat1", "esp32"): 1.3, ("nb", "nrf52832-bc26"): 1.3,
           ("nb", "nrf52832-m5311"): 2.0}


def verdict(link, profile, ratio):
    t = TARGETS.get((link, profile))
    if t is None:
        return "–"
    return "≤ %.2f: %s" % (t, "holds" if ratio <= t else "**does not hold**")


def table(res):
    lines = ["| profile | runtime | size | whole update | download | requests | connections | on the wire "
             "| link limit | ratio | target | curl, one request |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        size = PROFILES[r["profile"]][2]
        lines.append("| %s | %s | %d KiB | %.1f s | %s | %d | %d | %d B | %.1f s | %.2f | %s | %.1f s |" % (
            r["profile"], r["runtime"], size // 1024, r["whole_s"],
            "%.1f s" % r["dl_s"] if r["dl_s"] is not None else "–", r["requests"], r["connections"],
            r["wire"], r["limit_s"], r["ratio"], verdict(res["link"], r["profile"], r["ratio"]), r["curl_s"]))
    return "\n".join(lines)


HEAD = "## Over a link"


def markdown(results, command, elapsed):
    L = [HEAD, "",
         "Whole updates through the project's link emulator (`tools/onenet_ota_tools/linkemu.py`: "
         "rate, delay, slow start from 10 segments, in-order delivery; no loss in these runs) "
         "between the device and the simulator, next to curl fetching the same package in one "
         "`bytes=0-` request over the same link in the same run. *whole*: the link busy for the "
         "update, all boots (its first connection to the last byte it delivered); *download*: the download boot's first byte asked to its md5 check; "
         "*limit*: the package at the link's rate plus one RTT. `%s` (%.0f s)." % (command, elapsed), "",
         "The nRF52832 profiles run through the modem simulator and the port's UART model "
         "(115200 baud, 64-byte ring, RTS/CTS, flash stalls; docs/shim.md) with their defaults "
         "(firmware/onenet_ota/board_nrf52.py, transport_at.py \"Flow control\"): the BC26 asks "
         "for the whole package in one open-ended range and hands it out by `AT+QIRD`; its "
         "progress reports go on a second modem socket (connectID 1) while the range streams. "
         "The M5311 pushes `+IPRD`: the transport turns interrupts off while the agent works on "
         "what it handed out, so RTS/CTS holds the modem; 32 KiB ranges, progress between them "
         "(one socket). Modem boards report every 25 % at most: a report holds the agent one "
         "round trip, and the UART has only about twice an NB link's rate to catch up. The "
         "emulator gives each connection the link's rate (a report's few hundred bytes are "
         "not charged to the download). Over Cat-1 and WiFi the 115200-baud UART, not the "
         "link, is the limit of the nRF52832 rows (BC26 ~6 s, M5311 ~12 s for 64 KiB of "
         "payload): their ratios say that, not the agent.", ""]
    for res in results:
        L += ["### %s: %.1f kbit/s, %d ms RTT" % (res["link"], res["rate"] * 8 / 1000, res["rtt"] * 1000), "",
              table(res), ""]
    return "\n".join(L)


def run(args, log):
    import tempfile
    import time

    profiles = [p.strip() for p in args.link_profiles.split(",") if p.strip()]
    for p in profiles:
        if p not in PROFILES:
            from ..cli import CommandError

            raise CommandError("--link-profiles: %s is not one of %s" % (p, ", ".join(PROFILES)), 2)
    try:
        for spec in args.link:
            linkemu.parse(spec)
    except ValueError as e:
        from ..cli import CommandError

        raise CommandError(str(e), 2)
    t0 = time.monotonic()
    results = [measure(spec, tempfile.mkdtemp(prefix="onenet-link-"), profiles=profiles, log=log)
               for spec in args.link]
    elapsed = time.monotonic() - t0
    for res in results:
        print("%s: %.1f kbit/s, %d ms" % (res["link"], res["rate"] * 8 / 1000, res["rtt"] * 1000))
        print(table(res))
    if args.out != "-":
        cmd = "onenet-ota bench" + "".join(" --link " + s for s in args.link) + " --link-profiles " + ",".join(profiles)
        from .report import replace_section

        replace_section(args.out, HEAD, markdown(results, cmd, elapsed))
        print("wrote the link section of %s" % args.out)
    return 0
