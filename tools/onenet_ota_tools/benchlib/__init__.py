"""Measurements behind `onenet-ota bench` (issue 8).

`update.py`  the simulator in-process, the agent as a device (one process per boot, with
             OTA_HEAP_STATS: see shim/ota_device.py), curl over the same ranges, the
             smallest heap, restart-to-first-resumed-byte;
`static.py`  .mpy sizes (mpy-cross) and hash throughput (hashbench.py, unix and wasm);
`report.py`  the target table and docs/PERFORMANCE.md.
"""
