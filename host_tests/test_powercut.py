# Power cuts at every flash operation (issue 7, part 1 and 2), on CPython in-process:
# the agent on the shim's strict simulated flash against an in-process simulator. See
# support/powercut.py for the invariants checked after every cut. The micropython
# sweep (one process per cut point) is at the end.
import json
import os
import random
import time

import pytest

from support import powercut as pc
from support.powercut import Harness, image

SIZE = 256 * 1024
CHUNK = 4096
JEVERY = 16384
SEEDS = int(os.environ.get("OTA_POWERCUT_SEEDS", "1000"))
FIGURES = os.environ.get("OTA_RELIABILITY_OUT")  # the reliability command collects figures


def record(name, **fig):
    if FIGURES:
        with open(FIGURES, "a") as f:
            f.write(json.dumps({"test": name, **fig}) + "\n")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    from onenet_ota_tools.sim import Simulator

    s = Simulator(str(tmp_path_factory.mktemp("sim")), port=0)
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def h(sim, tmp_path):
    return Harness(sim, tmp_path)


def _sweep(h, kind, size, chunk=CHUNK, jevery=JEVERY, step=1):
    data = image(size)
    clean = h.device(kind, data, "V2.0", chunk=chunk, journal_every=jevery)
    n, per_boot, out = clean.clean()
    assert out == "updated", clean.logs[-20:]
    clean.check_updated()
    kinds = {}
    for k, _ in clean.op_log:
        kinds[k] = kinds.get(k, 0) + 1
    worst = 0
    resumed = 0
    for i in range(1, n + 1, step):
        d = h.device(kind, data, "V2.0", chunk=chunk, journal_every=jevery)
        out = d.run([i])
        assert d.cuts_fired == 1, (i, [s["out"] for s in d.summaries])
        # "none": the cut fell after 201 and the new version were reported
        assert out in ("updated", "none"), (i, d.logs[-30:])
        d.check_updated()
        extra = d.bytes - size
        worst = max(worst, extra)
        assert extra <= chunk + jevery, (i, extra, [(s["out"], s["bytes"], s["resumed_at"]) for s in d.summaries],
                                         d.logs)
        resumed += any((s.get("resumed_at") or 0) > 0 for s in d.summaries)
    return n, per_boot, kinds, worst, resumed


@pytest.mark.parametrize("kind", ["esp32", "block", "file"])
def test_cut_at_every_operation_256k(h, kind):
    # Every flash operation of a clean 256 KiB update (sink writes and erases, journal
    # writes, renames and removes, boot-selection writes) is cut once; the device boots
    # again until the update is done: 201 on the simulator, the new image confirmed,
    # never an invalid image chosen by the bootloader, journal and sink in agreement.
    t = time.monotonic()
    n, per_boot, kinds, worst, resumed = _sweep(h, kind, SIZE)
    record("sweep", sink=kind, size=SIZE, ops=n, cuts=n, ops_by_kind=kinds, worst_redownload=worst,
           resumed=resumed, bricked=0, seconds=round(time.monotonic() - t, 1))
    assert n > 100


def test_random_cuts_many_seeds(h):
    # Several cuts in one update, at random operations, for many seeds (a small image
    # with a short chunk and journal interval: many operations per byte).
    data = image(24 * 1024)
    t = time.monotonic()
    cuts = 0
    for seed in range(SEEDS):
        rng = random.Random(seed)
        kind = ("esp32", "block", "file")[seed % 3]
        d = h.device(kind, data, "V2.0", chunk=1024, journal_every=4096, name="r%d" % seed,
                     sets={"max_boots": 8})  # <= 5 cuts never spend it: see the crash loop test
        pts = [rng.randint(1, 60) for _ in range(rng.randint(2, 5))]
        out = d.run(pts)
        assert out in ("updated", "none"), (seed, pts, d.logs[-30:])
        d.check_updated()
        assert d.bytes - len(data) <= d.cuts_fired * (1024 + 4096), (seed, d.bytes)
        cuts += d.cuts_fired
    record("random", seeds=SEEDS, cuts=cuts, size=len(data), bricked=0, seconds=round(time.monotonic() - t, 1))
