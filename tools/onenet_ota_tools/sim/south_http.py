"""The device (south) routes over HTTP: the legacy paths, the task-id dialects (fuse-ota,
Studio: `sim/dialects.py`) and the download serving (ranges, the one-byte and Ota-Errno
answers, the faults that cut or stall a body). A mixin of `server.Handler` (it answers
with the handler's `respond` / `api` / `_send` / `_head` / `wait`)."""
import json
import os
import socket
import time

from . import dialects, ranges
from .wire import BIG, REASONS


class SouthRoutes:
    def _south(self, method, path, q, body):
        sim = self.server.sim
        south = sim.south
        parts = [p for p in path.split("/") if p]
        token = None
        kind = dialects.kind(parts)  # fuse-ota / Studio (sim/dialects.py), None: legacy
        if kind:
            dev_id = parts[2]
            tid = int(parts[3]) if len(parts) > 4 and parts[3].isdigit() and len(parts[3]) < 12 else None
        elif parts[:3] == ["ota", "south", "download"] and len(parts) >= 4:
            token = parts[3]
        elif parts[:5] == ["ota", "south", "device", "download"] and len(parts) == 6:
            token = parts[4]
        elif path == "/ota/south/report":
            token = q.get("token")
        if not kind:
            dev_id, tid = q.get("dev_id"), None
        if token:
            t = sim.store.task_by_token(token)
            if t:
                dev_id, tid = t["dev_id"], t["id"]
        f = sim.faults.get(dev_id, tid)
        self._cap(f)
        if f:
            self.wait(f.get("latency", 0))
            if "stall" in f and "stall_after" not in f:
                sim.faults.once(dev_id, tid, "stall", "stall_every")
                self.wait(f["stall"])
            if "http_error" in f and sim.faults.take(dev_id, tid, "http_error_count"):
                st = f["http_error"]
                self.respond(st, json.dumps({"error": REASONS.get(st, "error")}).encode())
                return

        def api(fn, *a):
            if f.get("errno7") and sim.faults.take(dev_id, tid, "errno7"):
                return self.api(7, kind=kind)
            try:
                e, d = fn(*a)
            except Exception:  # a simulator bug must look like the platform's errno 7
                if sim.verbose:
                    import traceback

                    traceback.print_exc()
                e, d = 7, None
            self.api(e, d, kind)

        h = self.headers
        if kind:
            return self._tid_south(kind, method, parts, q, body, f, api)
        if path == "/ota/device/version" and method in ("GET", "POST"):
            return api(south.version, method, q, h, body)
        if path == "/ota/south/check" and method == "GET":
            return api(south.check, q, h)
        if path == "/ota/south/tasking" and method == "GET":
            return api(south.tasking, q, h)
        if path == "/ota/south/report" and method == "POST":
            return api(south.report, q, h, body)
        if parts[:3] == ["ota", "south", "download"] and method == "GET":
            if len(parts) == 5 and parts[4] == "check":
                if "token_check_errno" in f and ("token_check_errno_count" not in f or sim.faults.take(
                        dev_id, tid, "token_check_errno_count")):
                    return self.api(f["token_check_errno"])
                return api(south.token_check, parts[3], q, h)
            if len(parts) == 4:
                return self._download(parts[3], q, f)
        if (parts[:4] == ["ota", "south", "device", "download"] and len(parts) == 6
                and parts[5] == "progress" and method == "POST"):
            return api(south.progress, parts[4], q, h, body)
        if path.startswith("/ota/"):
            self.respond(404 if method in ("GET", "POST") else 405,
                         b'{"errno":2,"error":"bad request parameters"}')
        else:
            self.respond(404, b'{"error":"not found"}')

    # -- the task-id dialects: fuse-ota, Studio (sim/dialects.py) ----------------------------
    def _tid_south(self, kind, method, parts, q, body, f, api):
        sim = self.server.sim
        ts = sim.tid_south
        pid, dev, tail = parts[1], parts[2], parts[3:]
        dl = len(tail) == 2 and tail[1] == "download" and method == "GET"  # T1 adds a "/": split drops it
        e, d = ts.device(kind, pid, dev, self.headers, q if dl else None)
        if dl:
            if e:
                return self.ota_errno(6 if sim.store.device(dev) else 1, f)  # §4.5: 6 auth, 1 no device
            code, t, pkg = ts.download_task(d, tail[0])
            if code:
                return self.ota_errno(code, f)
            # §4.5: 2 file missing, 3 missing in storage (unreadable), 4 size mismatch
            return self._serve(t, pkg, f, lambda c: self.ota_errno(c, f), (2, 3, 4), kind)
        if e:
            return self.api(e, None, kind)
        if tail == ["version"] and method in ("GET", "POST"):
            return api(ts.version, kind, d, method, body)
        if tail == ["check"] and method == "GET":
            return api(ts.check, kind, d, q)
        if len(tail) == 2 and tail[1] == "check" and method == "GET":
            if "token_check_errno" in f and ("token_check_errno_count" not in f or sim.faults.take(
                    dev, tail[0] if tail[0].isdigit() else None, "token_check_errno_count")):
                return self.api(f["token_check_errno"], None, kind)
            return api(ts.task_check, kind, d, tail[0])
        if len(tail) == 2 and tail[1] == "status" and method == "POST":
            return api(ts.step, kind, d, tail[0], body)
        self.respond(404, json.dumps(dialects.envelope(kind, 2)[0]).encode())

    def ota_errno(self, code, f):
        # §4.5: the download's error is the Ota-Errno header; HTTP 200 (S5) by default,
        # mode ota_errno_status=403 for S7's reading (a non-200 status). Empty body.
        st = int(f.get("ota_errno_status", 200))
        self._status, self._errno = st, "Ota-Errno %d" % code
        self._send(self._head(st, [("Content-Type", "application/octet-stream;charset=UTF-8"),
                                   ("Ota-Errno", str(code)), ("Content-Length", "0")]))

    # -- download ---------------------------------------------------------------------------
    # Query: dev_id (optional), s_id (optional NB-IoT base-station id, section 10: accepted,
    # decides nothing). The one-byte answers (section 10): 1 resource not found (no
    # package file), 2 file size mismatch (file != published size), 3 invalid token
    # (unknown, expired, another dev_id, task not pending/downloading/upgrading), 4 failed
    # to get the file (unreadable), 5 bad parameter (a range under the 2-byte minimum,
    # mode short_range=error), 6 NB base-station limit (only by the dl_error knob).
    def _download(self, token, q, f):
        sim = self.server.sim
        enc = f.get("one_byte", "ascii")
        code, t, pkg = sim.south.download_task(token, q)
        if code:
            return self.one_byte(code, enc)
        self._serve(t, pkg, f, lambda c: self.one_byte(c, enc), (1, 4, 2))

    # A download's answer, every dialect: refuse(code) answers an error; missing /
    # unreadable / size: the codes for the file missing, unreadable, of the wrong size;
    # kind: None legacy, or the task-id dialect (its Ota-Errno and range headers).
    def _serve(self, t, pkg, f, refuse, codes, kind=None):
        sim = self.server.sim
        if "dl_error" in f and ("dl_error_count" not in f or sim.faults.take(t["dev_id"], t["id"], "dl_error_count")):
            return refuse(f["dl_error"])
        if not os.path.exists(pkg["path"]):
            return refuse(codes[0])
        data = sim.package_bytes(pkg)
        if data is None:
            return refuse(codes[1])
        if len(data) != pkg["size"]:
            return refuse(codes[2])
        n = len(data)
        rng = None if f.get("ignore_range") else ranges.parse(self.headers.get("Range"), n)
        if rng and rng[0] == rng[1] and n >= 2:
            short = f.get("short_range", "error")
            if short == "error":
                return refuse(5)
            if short == "whole":
                rng = None
        a, b = rng if rng else (0, n - 1)
        body = memoryview(data)[a:b + 1]
        if "flip_offset" in f and a <= f["flip_offset"] <= b:
            body = bytearray(body)
            body[f["flip_offset"] - a] ^= 0xFF
            body = memoryview(body)
        status = 206 if rng else 200
        hdrs = [("Content-Type", "application/octet-stream"),
                ("Content-Disposition", 'attachment; filename="%s"' % pkg["name"])]
        d = 1 if f.get("wrong_content_range") else 0
        if kind == dialects.STUDIO:
            # §9.5 (T3): Content-Range-Start / -End, plain integers, on a partial answer
            if status == 206:
                hdrs += [("Content-Range-Start", str(a + d)), ("Content-Range-End", str(b + d))]
        elif status == 206 or (not kind and f.get("whole_content_range", True)):
            # legacy §5/§10; fuse-ota §4.5: 206 with "bytes a-b/total" (S5), 200 without
            hdrs.append(("Content-Range", "bytes %d-%d/%d" % (a + d, b + d, n)))
        if kind:
            hdrs.append(("Ota-Errno", "0"))  # §4.5 (S1 capture): 0 on success
        chunked = f.get("chunked", False)
        if chunked:
            hdrs.append(("Transfer-Encoding", "chunked"))
        else:
            hdrs.append(("Content-Length", str(len(body))))
        limit, cut, action = len(body), False, None
        dev, tid = t["dev_id"], t["id"]
        if "drop_after" in f and f["drop_after"] < limit:
            limit, cut = f["drop_after"], True
            sim.faults.once(dev, tid, "drop_after", "drop_every")
        if "short_body" in f:
            k = min(f["short_body"], len(body))
            if len(body) - k < limit:
                limit, cut = len(body) - k, True
        for knob in ("cancel_at", "pause_at"):
            x = f.get(knob)
            if x is not None and a <= x <= b and x - a <= limit:
                limit, cut, action = x - a, True, knob
        stall_at = f.get("stall_after") if "stall" in f else None
        if stall_at is not None and stall_at >= limit:
            stall_at = None
        if stall_at is not None:
            sim.faults.once(dev, tid, "stall", "stall_every")
        bw = f.get("bandwidth")
        self._status = status
        sim.stats.add(downloads=1)
        hdr = self._head(status, hdrs, close=cut)
        step = max(256, bw // 20) if bw else (1 << 30)
        pos, t0 = 0, time.time()
        try:
            if limit == 0:
                self._send(hdr)
                hdr = b""
            while pos < limit:
                end = min(limit, pos + step)
                if stall_at is not None and pos < stall_at < end:
                    end = stall_at
                piece = body[pos:end]
                if chunked:
                    piece = b"%x\r\n" % len(piece) + piece + b"\r\n"
                if len(piece) <= BIG:
                    self._send(hdr + piece)
                else:
                    if hdr:
                        self._send(hdr)
                    self._send(piece)
                hdr = b""
                sim.stats.add(bytes_sent=end - pos)
                pos = end
                if pos < limit:  # a paced or held body: "served" moves as it goes out
                    sim.note_served(t, a + pos)
                if stall_at is not None and pos == stall_at:
                    self.wait(f["stall"])
                if bw:
                    ahead = pos / float(bw) - (time.time() - t0)
                    self.wait(ahead)
                if pos < limit and sim._stopping.is_set():
                    cut = True  # stopping: the rest of a held or paced body is not sent
                    break
            if chunked and not cut:
                self._send(b"0\r\n\r\n")
        finally:
            if pos or limit == 0:
                sim.note_served(t, a + pos)
            if action:
                sim.store_action(tid, "cancel" if action == "cancel_at" else "pause",
                                 why="%s=%d" % (action, f[action]))
                with sim.faults._lock:
                    for k in (("task", tid), ("dev", str(dev))):
                        sim.faults._by.get(k, {}).pop(action, None)
        if cut:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
