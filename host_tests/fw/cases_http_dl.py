# Ranged download through the HTTP client: bytes right, one connection, and no heap
# allocation per range once warmed up. Port in OTA_TEST_PORT.
import gc
import os

from onenet_ota.http import Client

PORT = int(os.getenv("OTA_TEST_PORT"))


def _client(timeout_ms=3000):
    return Client("127.0.0.1", PORT, timeout_ms=timeout_ms)


R = 2048  # bytes per range (the heap is 33 KiB on the 64-bit port, code included)


def case_download_ranges_no_alloc():
    # 16 ranges over one connection; heap allocated per range after a warm-up
    # (MicroPython only: CPython reports -1).
    c = _client()
    buf = bytearray(R)
    path = "/dl"
    total = 0
    allocs = []
    acc = 0
    for i in range(16):
        if hasattr(gc, "mem_alloc"):
            gc.collect()
            a0 = gc.mem_alloc()
        c.send_range(path, i * R, i * R + R - 1)
        n = c.length
        c.readinto(buf, n)
        if hasattr(gc, "mem_alloc"):
            allocs.append(gc.mem_alloc() - a0)
        for j in (0, 1, R - 1):
            acc = (acc * 31 + buf[j]) & 0xFFFFFF
        total += n
    return [total, acc, c.connections, c.requests, allocs[4:] if allocs else -1]
