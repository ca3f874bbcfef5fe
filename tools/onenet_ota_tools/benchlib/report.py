# The target table (terminal) and docs/PERFORMANCE.md from the results of one run.
import os
import platform
import subprocess
import sys
import time

from .. import runtimes
from .static import CORE, CORE_ISSUE, CORE_TARGET


def _out(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "n/a"


def facts():
    cpu = "n/a"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "n/a")
    except OSError:
        pass
    mp = runtimes.micropython_binary()
    f = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": _out(["nproc"]),
        "cpu": cpu,
        "os": platform.platform(),
        "python": "%s %s" % (platform.python_implementation(), platform.python_version()),
        "micropython": _out([mp, "-c", "import sys; print(sys.version, sys.implementation)"]),
        "mpy-cross": _out([runtimes.mpy_cross_binary(), "--version"]),
        "curl": _out(["/usr/bin/curl", "--version"]),
    }
    if os.environ.get("OTA_WASM_MJS"):
        f["node"] = _out(["node", "--version"])
        f["wasm"] = os.environ["OTA_WASM_MJS"]
    return f


def _kib(n):
    return "%.1f KiB" % (n / 1024.0)


def _yes(b):
    return "holds" if b else "**does not hold**"


# [(measure, target, measured, verdict)] from the results dict R.
def targets(R):
    rows = []
    for s in R["speed"]:
        if s["chunk"] == 4096:
            rows.append(("agent/curl time, %s, 4 KiB chunks" % s["runtime"], "≤ 1.5",
                         "%.2f (%.3f s / %.3f s)" % (s["ratio"], s["agent_s"], s["curl_s"]),
                         _yes(s["ratio"] <= 1.5)))
    for s in R.get("bare", ()):
        rows.append(("agent/curl time, %s, 4 KiB, journal and progress off" % s["runtime"], "—",
                     "%.2f (%.3f s / %.3f s): the download loop alone" % (s["ratio"], s["agent_s"], s["curl_s"]),
                     "measured"))
    dl = [s["dl_connections"] for s in R["speed"]]
    tot = [s["sim_connections"] for s in R["speed"]]
    if dl:
        rows.append(("TCP connections per update", "1 connection per update",
                     "%s in the download boot; %s per update incl. the confirm boot after the reset"
                     % (_span(dl), _span(tot)), _yes(max(dl) == 1) + " (download boot)"))
    h = R.get("min_heap") or {}
    if "ok24" in h:
        rows.append(("%s update, micropython -X heapsize=24k, %d B chunks" % (_kib(R["size"]), h["chunk"]),
                     "completes", "%s; smallest heap that completes: %s"
                     % ("completes" if h["ok24"] else "fails",
                        ("%d KiB" % h["min"]) if h["min"] else "> 1 MiB"), _yes(h["ok24"])))
    for hp in R["heap"]:
        if hp["chunk"] == 1024:
            d = hp["peak"] - hp["base"]
            rows.append(("peak heap above baseline (code loaded), 1 KiB chunks",
                         "≤ 8 KiB", "%s (peak %s, baseline %s; %s above the bare interpreter)"
                         % (_kib(d), _kib(hp["peak"]), _kib(hp["base"]),
                            _kib(hp["peak"] - hp["base_start"])), _yes(d <= 8192)))
            if hp["win_bytes"] is not None:
                per = hp["win_bytes"] / float(hp["win_chunks"])
                plain = hp.get("win_plain_chunks")
                if plain is None:
                    rows.append(("heap allocated per chunk, steady state, 1 KiB", "0 B/chunk",
                                 "%.0f B/chunk (%d of 100 chunks allocate)" % (per, hp["win_alloc_chunks"]),
                                 _yes(hp["win_bytes"] <= 0)))
                else:
                    # A chunk that ends with a journal write or a progress step pays for
                    # that event (file open, JSON answer); every other chunk is measured.
                    rows.append(("heap allocated per chunk, steady state, 1 KiB", "0 B/chunk",
                                 "%d B on each of the %d chunks with no journal write or progress "
                                 "step; the other %d chunks: %d B in all (%.0f B/chunk averaged)"
                                 % (hp["win_plain_bytes"] // max(plain, 1), plain, 100 - plain,
                                    hp["win_bytes"] - hp["win_plain_bytes"], per),
                                 _yes(hp["win_plain_bytes"] <= 0)))
    if R.get("mpy"):
        core_i = sum(v for k, v in R["mpy"].items() if k in CORE_ISSUE)
        rows.append(("core package .mpy: agent, api, http, auth, journal, one sink",
                     "≤ 24 KiB", "%s (%d B)" % (_kib(core_i), core_i), _yes(core_i <= CORE_TARGET)))
        core = sum(v for k, v in R["mpy"].items() if k in CORE)
        rows.append(("all an ESP32 update loads (%d modules, + config, board, transport...)"
                     % len([k for k in R["mpy"] if k in CORE]),
                     "—", "%s (%d B); whole package %s" % (_kib(core), core, _kib(sum(R["mpy"].values()))),
                     "measured"))
    q = R.get("qemu") or {}
    for sc in q.get("scans", ()):
        lo, hi, step = sc["range"]
        rows.append(("smallest heap, nRF52832 + %s on the qemu Cortex-M3, %d B chunks"
                     % (sc.get("modem", "bc26").upper(), sc["chunk"]),
                     "24 KiB (issue 12)" if sc["chunk"] <= 1024 else "—",
                     "%s (scanned %d..%d KiB, step %d%s)" % (
                         ("%d KiB" % sc["min"]) if sc["min"] else "none in range", lo, hi, step,
                         "; fails again at %s KiB" % ", ".join(map(str, sc["fail_above_min"]))
                         if sc["fail_above_min"] else ""),
                     _yes(bool(sc["min"]) and sc["min"] <= 24) if sc["chunk"] <= 1024 else "measured"))
    if q.get("modules"):
        m = q["modules"]
        rows.append(("resident heap of the frozen nRF52832 part (qemu Cortex-M3)", "—",
                     "%d B for %d modules (largest: %s)" % (
                         sum(d for _n, d, _l in m["mods"]), len(m["mods"]),
                         ", ".join("%s %d" % (n, d) for n, d, _l in sorted(m["mods"], key=lambda x: -x[1])[:3])),
                     "measured"))
    jw = [s for s in R["speed"] if s["chunk"] == 4096] or R["speed"]
    if jw:
        s = jw[0]
        per_mib = s["dl_journal_writes"] * 1048576.0 / R["size"]
        rows.append(("journal writes per MiB, download phase",
                     "≤ 1 per 16 KiB (≤ 64/MiB)", "%.0f/MiB (%d in the whole %s update, all boots)"
                     % (per_mib, s["journal_writes"], _kib(R["size"])), _yes(per_mib <= 64)))
    for r in R["hashes"]:
        if r["mode"] == "plain" and r["hash"] == "md5":
            rows.append(("pure MD5, %s" % r["where"], "ref. 1125 KB/s unix, 142 KB/s wasm",
                         "%d KB/s, heap %s B per %d KiB"
                         % (r["kbps"], r["heap"], r["kib"]), "measured"))
    for r in R["resume"]:
        rows.append(("restart → first resumed byte, %s, %s" % (r["runtime"], r["board"]), "—",
                     "%.3f s (resumed at %d; a fresh boot: %.3f s)" % (r["resume_s"], r["resumed_at"], r["fresh_s"]),
                     "measured"))
    return rows


def _span(v):
    return str(v[0]) if min(v) == max(v) else "%d–%d" % (min(v), max(v))


def table(rows):
    w = [max(len(r[i]) for r in rows + [("measure", "target", "measured", "verdict")]) for i in range(4)]
    w[0] = min(w[0], 60)
    lines = []
    for r in [("measure", "target", "measured", "verdict")] + rows:
        lines.append("  ".join(str(x).ljust(w[i]) for i, x in enumerate(r)).rstrip())
    lines.insert(1, "-" * min(sum(w) + 6, 160))
    return "\n".join(lines)


def _md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


PHASES = {"start": "interpreter, qemu_device and the board's machine module",
          "mounted": "littlefs mounted on nrf.Flash()", "imported": "agent and runloop imported",
          "config": "config.json read and checked, board.make(), config.py forgotten (runloop.start)",
          "agent": "Agent() built",
          "end": "after the run (answers, modem, sink still referenced)"}


def _qemu_md(q):
    if not q:
        return []
    L = ["## The nRF52832 profile on a Cortex-M3 (qemu MPS2-AN385, the agent frozen)", "",
         "`onenet-ota firmware` builds ports/qemu (MPS2_AN385) from MicroPython v1.28.0 with the "
         "nRF52832 part frozen in and nRF52832's module set; `--runtime qemu` boots it once per "
         "device boot, the modem (BC26, or M5311 where named) on the UART through the modem simulator "
         "([docs/qemu.md](qemu.md)). Heap = the firmware's MICROPY_HEAP_SIZE (what "
         "gc.mem_alloc() + gc.mem_free() report is a little less: the GC's tables). "
         "Update: %s." % _kib(q["size"]), ""]
    for sc in q.get("scans", ()):
        lo, hi, step = sc["range"]
        runs = sorted(sc["tried"].items())
        L += ["Smallest heap, %s, %d B chunks, scanning every %d KiB of %d..%d KiB (not a bisection: "
              "the minimum is not monotonic): **%s**.%s Runs: %s." % (
                  sc.get("modem", "bc26").upper(), sc["chunk"], step, lo, hi, ("%d KiB" % sc["min"]) if sc["min"] else "none",
                  (" Larger heaps that fail again: %s KiB (fragmentation: the 1–4 KiB buffers need "
                   "contiguous blocks)." % ", ".join(map(str, sc["fail_above_min"])))
                  if sc["fail_above_min"] else "",
                  " ".join("%d%s" % (k, "✓" if v else "✗") for k, v in runs)), ""]
    m = q.get("modules")
    if m:
        L += ["Resident heap per module (live bytes after a collection, before and after "
              "importing it, leaves first; frozen bytecode stays in flash, what stays in RAM is "
              "the module's dict, function and class objects, tables). Heap in use before the "
              "first import: %d B; after all: %d B." % (m["start"], m["end"]), ""]
        L += [_md_table(("module", "resident B"), [(n, d) for n, d, _l in m["mods"]]
                        + [("**total**", sum(d for _n, d, _l in m["mods"]))]), ""]
    for ph in q.get("phases", ()):
        L += ["Live heap per phase of the downloading boot (%d B chunks, heap %d KiB; peak = "
              "the largest live heap after a collection at each chunk):" % (ph["chunk"], ph["heap_k"]), ""]
        prev = 0
        rows = []
        at = dict(ph["phases"])
        for name, b in ph["phases"]:
            rows.append((name, PHASES.get(name, ""), b, b - prev))
            prev = b
        rows.append(("peak", "during the download (Δ: above the *agent* phase)", ph["peak"],
                     ph["peak"] - at.get("agent", 0)))
        L += [_md_table(("phase", "what", "live B", "Δ B"), rows), ""]
    return L


def markdown(R, command, elapsed):
    f = R["facts"]
    L = ["# Performance and footprint", "",
         "Generated by `%s` (issue 8) on %s in %.0f s. Do not edit by hand: run it again." % (command, f["date"], elapsed),
         "", "## Machine", ""]
    L += ["- %s: %s" % (k, v) for k, v in f.items()]
    L += ["", "## Targets", "", _md_table(("measure", "target", "measured", "verdict"), targets(R)), ""]
    L += ["## Update of %s on loopback: agent vs curl" % _kib(R["size"]), "",
          "Simulator in-process (port 0), one fresh device and task per run, `unix` board "
          "profile with the firmware's file sink (so no Python flash stand-in is charged to the "
          "agent). **agent s** = the device's download phase: `fetch._fetch_all` timed inside "
          "the device with `ticks_us` (OTA_HEAP_STATS=1: first Range request to last byte, "
          "including the MD5, the sink writes, the journal saves and the 10 %% progress POSTs; "
          "not process start, imports, version/check/token calls or the confirm boot). "
          "**curl s** = one `curl -K` process fetching the same ranges (`url`/`range` blocks "
          "separated by `next`, output /dev/null), the sum of `%%{time_total}`; curl's own "
          "`%%{num_connects}` and the simulator's connection counter both checked. Median of "
          "%d run(s) each, interleaved. **whole s** = the device command's wall time (both "
          "boots, process starts)." % R["repeat"], ""]
    rows = []
    for s in R["speed"]:
        rows.append((s["runtime"], s["chunk"], "%.3f" % s["agent_s"], "%.3f" % s["curl_s"],
                     "%.2f" % s["ratio"], "%.3f" % s["total_s"], s["requests"], s["dl_requests"],
                     "%d / %d" % (s["dl_connections"], s["sim_connections"]),
                     "%d / %d" % (s["curl_connects"], s["curl_sim_connections"])))
    L += [_md_table(("runtime", "chunk B", "agent s", "curl s", "agent/curl", "whole s",
                     "requests (update)", "requests (download boot)",
                     "conns: download boot / update", "curl conns: curl / sim"), rows), ""]
    if R.get("esp32"):
        L += ["ESP32 profile for reference (esp32 sink over the shim's flash stand-in, which "
              "checks every byte in Python: its cost is in the agent time):", ""]
        L += [_md_table(("runtime", "chunk B", "agent s", "whole s"),
                        [(e["runtime"], e["chunk"], "%.3f" % e["agent_s"], "%.3f" % e["total_s"])
                         for e in R["esp32"]]), ""]
    L += ["## MicroPython heap (unix port, 64-bit: objects are about twice their size on a "
          "32-bit board)", "",
          "OTA_HEAP_STATS=2, separate runs from the timing ones. **start** = `gc.mem_alloc()` "
          "after a collection when the boot script starts (interpreter + shim); **baseline** = "
          "the same once the config is loaded and all the code this run uses is imported "
          "(agent, api, http, transport, auth, digest, the sink, socket, select: on a board "
          "this code is frozen into flash and costs no heap); **peak** = "
          "the high-water mark of live heap, sampled after a collection at every chunk and "
          "every journal write (transients inside a request are not seen: the heap search "
          "below covers them). **B/chunk** = `gc.mem_alloc()` growth over chunks 20..120 "
          "with `gc.disable()`, minus what the flash stand-in allocated meanwhile, / 100.", ""]
    rows = []
    for h in R["heap"]:
        rows.append((h["board"], h["chunk"], _kib(h["base_start"]), _kib(h["base"]), _kib(h["peak"]),
                     _kib(h["peak"] - h["base"]),
                     "%.0f" % (h["win_bytes"] / 100.0) if h["win_bytes"] is not None else "n/a (< 120 chunks)",
                     h["win_alloc_chunks"] if h["win_alloc_chunks"] is not None else "n/a"))
    L += [_md_table(("board", "chunk B", "start", "baseline", "peak", "peak − baseline",
                     "B/chunk", "chunks allocating /100"), rows), ""]
    h = R.get("min_heap")
    if h:
        L += ["Smallest `-X heapsize` completing the update (micropython, unix profile, %d B "
              "chunks, binary search to 1 KiB): **%s**. Runs: %s. `-X heapsize=24k`: %s." % (
                  h["chunk"], ("%d KiB" % h["min"]) if h["min"] else "none ≤ 1 MiB",
                  ", ".join("%dk %s" % (k, "ok" if v else "fail") for k, v in sorted(h["tried"].items())),
                  "completes" if h["ok24"] else "fails"), ""]
    L += _qemu_md(R.get("qemu"))
    if R.get("mpy"):
        core = sum(v for k, v in R["mpy"].items() if k in CORE)
        L += ["## .mpy sizes (%s, bytecode, no -march)" % f["mpy-cross"], ""]
        L += [_md_table(("module", "bytes", "core"),
                        [(k, v, "yes" if k in CORE else "") for k, v in sorted(R["mpy"].items())]
                        + [("**core total**", core, "target %d" % CORE_TARGET),
                           ("**package total**", sum(R["mpy"].values()), "")]), ""]
        from ..board import manifest

        rows = []
        for part in manifest.BOARD_PARTS:
            names = manifest.module_names(part)
            rows.append((part, len(names), sum(R["mpy"].get(n, 0) for n in names),
                         "manifests/onenet-ota-%s, %s.json" % (part, part)))
        L += ["What each board installs (its manifest; `deploy`, `mpremote mip install "
              "github:ORG/REPO/<board>.json` and the frozen builds read the same):", ""]
        L += [_md_table(("board", "modules", ".mpy bytes", "from"), rows), ""]
    L += ["## Pure MD5 / SHA-1 (tools/onenet_ota_tools/hashbench.py, 1 KiB updates; heap = "
          "bytes allocated over the run with the collector off; viper = the native path, "
          "plain = bytecode, hashlib = the port's C for reference)", ""]
    L += [_md_table(("interpreter", "hash", "path", "KiB hashed", "KB/s", "heap B"),
                    [(r["where"], r["hash"], r["mode"], r["kib"], r["kbps"], r["heap"]) for r in R["hashes"]]), ""]
    L += ["## Journal and resume", "",
          "Journal writes = calls of `journal._write` (each save is one write + one rename), "
          "counted in the device (OTA_HEAP_STATS). Restart → first resumed byte: a device "
          "(4 KiB chunks; profile in the table) is killed (SIGKILL) once past half the image and "
          "started again; the time is from the new process's start to its first PROGRESS "
          "line (the first chunk stored after the resume point: interpreter start, imports, "
          "version report, check, token check, re-hash of the stored part, one request). "
          "The first boot runs with 5 ms of simulator latency per request so that the kill "
          "lands mid-download; the restart runs without.", ""]
    L += [_md_table(("runtime", "journal writes/MiB (download)", "journal writes (update)", ""),
                    [(s["runtime"], "%.0f" % (s["dl_journal_writes"] * 1048576.0 / R["size"]),
                      s["journal_writes"], "chunk %d" % s["chunk"]) for s in R["speed"] if s["chunk"] == 4096]), ""]
    L += [_md_table(("runtime", "profile", "resumed at (-1: from 0)", "restart → first stored byte",
                     "fresh boot → first byte (5 ms/request latency)"),
                    [(r["runtime"], r["board"], r["resumed_at"], "%.3f s" % r["resume_s"], "%.3f s" % r["fresh_s"])
                     for r in R["resume"]]), ""]
    L += ["## Reading the targets on this machine", "",
          "- **24 KiB heap.** The unix `micropython` loads each `.mpy` into its heap, 64-bit "
          "objects and all; the code of one ESP32 update alone takes more than the 24 KiB "
          "(the *baseline* above). On an nRF52832 the agent is frozen into the firmware "
          "(`manifest.py`) and its code costs no heap. What carries over to the board is "
          "the agent's data: the *peak above baseline* row (and 64-bit objects are about "
          "twice their 32-bit size). The *smallest heap* row is code + data on this port.",
          "- **agent/curl.** curl only fetches the ranges. Per range the agent also hashes, "
          "writes the sink, and every 16 KiB syncs the sink and writes the journal (a file "
          "and a rename: the price of resuming after a power cut); every 10 % it reports a "
          "progress step (one more request). With the file sink of the unix profile a sync "
          "is an fsync. The HTTP client itself parses a download answer in place and "
          "allocates nothing per range.",
          "- **Allocation per chunk.** A chunk that ends with a journal write (file open) or "
          "a progress step (a JSON answer) allocates for that event; the row gives the "
          "chunks with neither separately.", ""]
    if R["notes"]:
        L += ["## Notes", ""] + ["- " + n for n in R["notes"]] + [""]
    return "\n".join(L)


# Replace the section that starts with `head` (up to the next "## ") in the markdown
# file at path; a new one goes before the section `before` when there is one, else at
# the end. The rest of the file is kept.
def replace_section(path, head, section, before=None):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        text = "# Performance and footprint\n\n"
    section = section.rstrip("\n") + "\n"
    if head in text:
        i = text.index(head)
        j = text.find("\n## ", i + 1)
        text = text[:i] + section + ("\n" + text[j + 1:] if j >= 0 else "")
    elif before and before in text:
        i = text.index(before)
        text = text[:i] + section + "\n" + text[i:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)
