"""Load figure: N simulated devices download one package each, in ranges, at once.

    python -m onenet_ota_tools.sim.load --devices 200 --size 65536 --chunk 4096

Starts its own simulator on 127.0.0.1 (port 0, temporary state dir; loopback only). Each device is a thread with one
keep-alive `http.client` connection: check, token check, the ranges, progress 100,
result 201. Prints requests/s, bytes/s and errors; every byte is compared with the
package. Returns the result dict from `run()` (used by host_tests/sim/test_sim_load.py).
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time

from onenet_ota import auth

from .core import Simulator

PID = "900001"
KEY = base64.b64encode(b"load-test-access-key-0123").decode()


def _device(sim, i, task, data, chunk, auth_value, errors, counts, barrier, deadline):
    dev = "load%04d" % i
    try:
        c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=30)
        n = 0

        def js(method, path, body=None):
            nonlocal n
            h = {"Authorization": auth_value}
            if body is not None:
                h["Content-Type"] = "application/json"
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            n += 1
            v = json.loads(r.read())
            if r.status != 200 or v["errno"] != 0:
                raise AssertionError("%s %s -> %s %s" % (method, path.split("?")[0], r.status, v))
            return v

        barrier.wait(30)
        v = js("GET", "/ota/south/check?dev_id=%s&manuf=101&model=10101&type=2&version=V1.0&cdn=true" % dev)
        tok = v["data"]["token"]
        js("GET", "/ota/south/download/%s/check?dev_id=%s" % (tok, dev))
        got = bytearray()
        while len(got) < len(data):
            if time.time() > deadline:
                raise AssertionError("deadline")
            end = min(len(data), len(got) + chunk) - 1
            c.request("GET", "/ota/south/download/" + tok, headers={"Range": "bytes=%d-%d" % (len(got), end)})
            r = c.getresponse()
            body = r.read()
            n += 1
            if r.status != 206 or r.getheader("Content-Range") != "bytes %d-%d/%d" % (len(got), end, len(data)):
                raise AssertionError("range answer %s %s" % (r.status, r.getheader("Content-Range")))
            got += body
        if bytes(got) != data:
            raise AssertionError("bytes differ")
        path = "/ota/south/device/download/%s/progress?dev_id=%s" % (tok, dev)
        js("POST", path, b'{"step":100}')
        js("POST", path, b'{"step":201}')
        c.close()
        with counts[1]:
            counts[0][0] += n
    except Exception as e:  # noqa: BLE001 - every failure is counted and shown
        with counts[1]:
            errors.append("%s: %s" % (dev, e))


def run(devices=200, size=64 * 1024, chunk=4096, timeout=120.0, quiet=False):
    d = tempfile.mkdtemp(prefix="onenet-sim-load-")
    sim = Simulator(os.path.join(d, "state"))
    try:
        sim.start()
        data = hashlib.sha256(b"seed").digest() * (size // 32 + 1)
        data = data[:size]
        for i in range(devices):
            sim.publish(target="V2.0", product_id=PID, access_key=KEY, dev_id="load%04d" % i, data=data,
                        s_version="V1.0")
        auth_value = auth.token(PID, KEY, 2 ** 32, "sha1")
        errors, counts = [], ([0], threading.Lock())
        barrier = threading.Barrier(devices + 1)
        deadline = time.time() + timeout
        threads = [threading.Thread(target=_device, daemon=True,
                                    args=(sim, i, None, data, chunk, auth_value, errors, counts, barrier, deadline))
                   for i in range(devices)]
        for t in threads:
            t.start()
        sim.stats.reset()
        barrier.wait(30)
        t0 = time.time()
        for t in threads:
            t.join(max(0.1, deadline - time.time()))
        dt = time.time() - t0
        alive = sum(t.is_alive() for t in threads)
        if alive:
            errors.append("%d devices did not finish in %.0fs" % (alive, timeout))
        done = sum(1 for t in sim.tasks() if t["state"] == "succeeded")
        st = sim.stats.as_dict()
        res = {"devices": devices, "size": size, "chunk": chunk, "seconds": round(dt, 3),
               "requests": counts[0][0], "requests_per_s": round(counts[0][0] / dt, 1),
               "bytes_per_s": round(st["bytes_sent"] / dt), "connections": st["connections"],
               "succeeded": done, "errors": errors}
        if not quiet:
            print("%d devices x %d bytes in %d-byte ranges: %d requests in %.2fs = %.0f requests/s, "
                  "%.1f MB/s, %d connections, %d tasks succeeded, %d errors" % (
                      devices, size, chunk, res["requests"], dt, res["requests_per_s"],
                      res["bytes_per_s"] / 1e6, st["connections"], done, len(errors)))
            for e in errors[:10]:
                print("  error:", e)
        return res
    finally:
        sim.stop()
        shutil.rmtree(d, ignore_errors=True)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m onenet_ota_tools.sim.load", description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=200)
    p.add_argument("--size", type=int, default=64 * 1024, help="package bytes (default 65536)")
    p.add_argument("--chunk", type=int, default=4096, help="bytes per Range request (default 4096)")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    if a.devices < 1 or a.size < 2 or a.chunk < 2:
        p.error("--devices >= 1, --size >= 2, --chunk >= 2")
    res = run(a.devices, a.size, a.chunk, a.timeout, quiet=a.json)
    if a.json:
        print(json.dumps(res, indent=2))
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
