# The simulator's read-only page, rendered by headless Chromium when it is installed
# (Debian's `chromium`; skipped otherwise): the DOM after its script ran shows every
# device with its task's state and a progress bar.
import shutil
import subprocess

import pytest

from onenet_ota_tools.sim import Simulator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
KEY = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="


@pytest.mark.skipif(not CHROMIUM, reason="chromium not installed")
def test_page_renders_devices_and_progress(tmp_path):
    with Simulator(str(tmp_path / "sim"), port=0) as sim:
        pkg = bytes(range(256)) * 64
        done = sim.publish(data=pkg, target="V1.4", product_id="123123", access_key=KEY,
                           dev_id="5001", manuf="101", model="10101")
        sim.publish(data=pkg, target="V1.5", product_id="123123", access_key=KEY,
                    dev_id="5002", manuf="101", model="10101")
        sim.store_action(done["id"], "cancel", why="test")
        p = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--user-data-dir=%s" % (tmp_path / "profile"),
             "--virtual-time-budget=3000", "--dump-dom", sim.admin_url],
            capture_output=True, text=True, timeout=90)
    dom = p.stdout
    assert "OneNET OTA simulator" in dom, p.stderr[-2000:]
    for text in ("5001", "5002", "V1.4", "V1.5", "cancelled", "pending", "0%"):
        assert text in dom, (text, dom[-3000:])
