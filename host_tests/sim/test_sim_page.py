# The simulator's console page (sim/page.py) driven in headless Chromium (Debian's
# `chromium`; every test skips when it is missing): each console action — add a device,
# upload, create a task, pause, resume, cancel — is done by clicking the page, and its
# effect is checked twice: in the simulator's state (Python API) and in what the page
# shows. A device driven through the south API (check, token check, progress, a result
# code) shows up with its progress, its result code and the code's meaning, in English
# and, after the language switch, in Chinese.
#
# The driver is the DevTools protocol over `--remote-debugging-pipe` (fd 3 in, fd 4 out,
# one JSON message per NUL-terminated record): standard library only, no port to open.
# One browser and one simulator serve the whole module; every wait is bounded.
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from onenet_ota_tools.errnos import RESULTS
from onenet_ota_tools.images import make_app_image
from onenet_ota_tools.sim import Clock, Simulator
from test_sim_support import KEY, NOW, PID, api, authz, check_path, progress, token_check

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium not installed (Debian: apt-get install "
                                "chromium; `make test` installs it where it can)")
WAIT = 15.0  # seconds for any one thing to show up on the page (it polls every second)


class CDP:
    """A headless Chromium and one page, driven over the DevTools pipe."""

    def __init__(self, profile):
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()
        # Chromium reads fd 3 and writes fd 4: a small exec wrapper puts the pipes there
        # (from descriptors above 9, so the first dup2 never overwrites the second's source).
        a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
        os.close(cmd_r)
        os.close(out_w)
        argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-dev-shm-usage", "--user-data-dir=%s" % profile,
                "--remote-debugging-pipe", "about:blank"]
        wrap = ("import os,sys; os.dup2(%d, 3); os.dup2(%d, 4); os.close(%d); os.close(%d); "
                "os.execv(sys.argv[1], sys.argv[1:])" % (a, b, a, b))
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", wrap] + argv, pass_fds=(a, b),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
        finally:
            os.close(a)
            os.close(b)
        self._cv = threading.Condition()
        self._replies = {}
        self._next = 0
        self._eof = False
        self._err = []
        self._rt = threading.Thread(target=self._reader, daemon=True)
        self._rt.start()
        self._et = threading.Thread(target=lambda: self._err.append(self.proc.stderr.read()), daemon=True)
        self._et.start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)

    def _reader(self):
        buf = b""
        while True:
            chunk = os.read(self._out_r, 65536)
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                m = json.loads(msg)
                if "id" in m:
                    with self._cv:
                        self._replies[m["id"]] = m
                        self._cv.notify_all()
        with self._cv:
            self._eof = True
            self._cv.notify_all()

    def call(self, method, session=False, timeout=WAIT, **params):
        with self._cv:
            self._next += 1
            mid = self._next
        msg = {"id": mid, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        with self._cv:
            while mid not in self._replies:
                left = end - time.monotonic()
                if self._eof or left <= 0:
                    raise AssertionError("chromium: no answer to %s (%s)" % (
                        method, "exited: %s" % self._stderr() if self._eof else "timeout"))
                self._cv.wait(left)
            m = self._replies.pop(mid)
        if "error" in m:
            raise AssertionError("chromium: %s -> %s" % (method, m["error"]))
        return m["result"]

    def _stderr(self):
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.2)
        return (b"".join(self._err) or b"").decode("utf-8", "replace")[-1500:]

    def js(self, expr):
        r = self.call("Runtime.evaluate", session=True, expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise AssertionError("page script: %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, expr, what=None, timeout=WAIT):
        end = time.monotonic() + timeout
        while True:
            v = self.js(expr)
            if v:
                return v
            if time.monotonic() > end:
                raise AssertionError("page: %s not seen in %.0f s; status %r, messages %r" % (
                    what or expr, timeout, self.js("document.getElementById('status').textContent"),
                    self.js("Array.prototype.map.call(document.querySelectorAll('.msg'),"
                            "function(m){return m.textContent})")))
            time.sleep(0.1)

    def text(self, selector):
        return self.js("(function(n){return n?n.textContent:null})(document.querySelector(%s))" % json.dumps(selector))

    def click(self, selector):
        assert self.js("(function(n){if(!n)return false;n.click();return true})(document.querySelector(%s))"
                       % json.dumps(selector)), "no %s on the page" % selector

    def type(self, element_id, value):
        self.js("document.getElementById(%s).value=%s" % (json.dumps(element_id), json.dumps(value)))

    def set_file(self, selector, path):
        root = self.call("DOM.getDocument", session=True, depth=0)["root"]["nodeId"]
        node = self.call("DOM.querySelector", session=True, nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", session=True, nodeId=node, files=[str(path)])

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except AssertionError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self._cmd_w)
        self._rt.join(10)  # the pipe's other end closed with the browser
        if not self._rt.is_alive():
            os.close(self._out_r)
        self._et.join(10)
        if not self._et.is_alive():
            self.proc.stderr.close()


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console")
    sim = Simulator(str(tmp / "sim"), clock=Clock(fixed=NOW))
    sim.start()
    browser = None
    try:
        browser = CDP(tmp / "profile")
        browser.call("Page.navigate", session=True, url=sim.admin_url)  # /?token= -> cookie -> /
        browser.wait("document.readyState==='complete' && location.pathname==='/' && "
                     "!!document.getElementById('status')"
                     " && document.getElementById('status').textContent!=='' && "
                     "document.getElementById('status').className!=='err'",
                     "the page loaded with the admin cookie")
        browser.click("#lang-en")
        yield sim, browser, tmp
    finally:
        if browser is not None:
            browser.close()
        sim.stop()


def _row(sel, col):
    return "%s td:nth-child(%d)" % (sel, col)


def test_page_loads_with_the_cookie_and_nothing_external(console):
    sim, b, _ = console
    assert b.js("location.href") == sim.url + "/"  # the token left the address bar
    assert b.js("document.cookie") == ""  # HttpOnly: the script cannot read it
    assert "error" not in b.text("#status") and "cannot" not in b.text("#status")
    # Only the document itself was loaded: no script, style, font or image from anywhere.
    assert b.js("performance.getEntriesByType('resource').filter(function(e){"
                "return !/\\/admin\\//.test(e.name)}).map(function(e){return e.name})") == []


def test_add_device_from_the_page(console):
    sim, b, _ = console
    b.type("d-dev", "7001")
    b.type("d-product", PID)
    b.type("d-key", KEY)
    b.type("d-sver", "V1.3")
    b.click("#d-add")
    b.wait("/7001/.test(document.getElementById('msg-device').textContent)", "the device-added message")
    assert "ok" in b.js("document.getElementById('msg-device').className")
    d = {x["dev_id"]: x for x in sim.devices()}["7001"]
    assert (d["product_id"], d["s_version"]) == (PID, "V1.3")
    assert b.js("document.getElementById('d-key').value") == ""  # the key does not linger in the form
    b.wait("!!document.querySelector('#devices tr[data-device=\"7001\"]')", "the device row")


def test_upload_shows_size_md5_and_image_check(console):
    sim, b, tmp = console
    sim.add_device("7002", PID, KEY, s_version="V1.3")
    img = make_app_image(40000, version="V2.0", embed_version=True)
    path = tmp / "app-V2.0.bin"
    path.write_bytes(img)
    b.wait("Array.prototype.some.call(document.querySelectorAll('#u-product option'),"
           "function(o){return o.value===%s})" % json.dumps(PID), "the product in the upload form")
    b.js("document.getElementById('u-product').value=%s" % json.dumps(PID))
    b.set_file("#u-file", path)
    b.click("#u-go")
    msg = b.wait("(function(t){return /uploaded/.test(t)&&t})(document.getElementById('msg-upload').textContent)",
                 "the upload message")
    md5 = hashlib.md5(img).hexdigest()
    assert md5 in msg and str(len(img)) in msg, msg
    assert "ESP32 app image OK" in msg and "esp32" in msg and "V2.0" in msg, msg
    pkgs = [p for p in sim.store.packages(PID) if p["name"] == "app-V2.0.bin"]
    assert (pkgs[0]["name"], pkgs[0]["size"], pkgs[0]["md5"]) == ("app-V2.0.bin", len(img), md5)
    with open(pkgs[0]["path"], "rb") as f:
        assert f.read() == img  # the bytes the browser sent are the bytes stored
    row = "#packages tr[data-package=\"%d\"]" % pkgs[0]["id"]
    b.wait("!!document.querySelector(%s)" % json.dumps(row), "the package row")
    assert b.text(row + " td.mono") == md5
    # A corrupt image (one byte flipped in the middle) is stored but flagged.
    bad = bytearray(img)
    bad[20000] ^= 0xFF
    (tmp / "bad.bin").write_bytes(bytes(bad))
    b.set_file("#u-file", tmp / "bad.bin")
    b.click("#u-go")
    msg = b.wait("(function(t){return /bad\\.bin/.test(t)&&t})(document.getElementById('msg-upload').textContent)",
                 "the second upload message")
    assert "ESP32 image check failed" in msg and ("SHA-256" in msg or "checksum" in msg), msg


def _create(b, pkg_id, devs, target, **fields):
    b.wait("Array.prototype.some.call(document.querySelectorAll('#t-pkg option'),function(o){return o.value==='%d'})"
           % pkg_id, "package %d in the task form" % pkg_id)
    b.js("(function(s){s.value='%d';s.dispatchEvent(new Event('change'))})(document.getElementById('t-pkg'))" % pkg_id)
    for d in devs:
        b.wait("!!document.querySelector('#t-devs input[data-dev=\"%s\"]')" % d, "device %s in the task form" % d)
        assert not b.js("document.querySelector('#t-devs input[data-dev=\"%s\"]').checked" % d)
        b.click("#t-devs input[data-dev=\"%s\"]" % d)
    assert b.js("Array.prototype.filter.call(document.querySelectorAll('#t-devs input'),function(x){return x.checked})"
                ".map(function(x){return x.getAttribute('data-dev')})") == devs
    b.type("t-target", target)
    for k, v in fields.items():
        b.type("t-" + k, str(v))
    b.js("document.getElementById('msg-task').textContent=''")
    b.click("#t-go")
    return b.wait("(function(t){return t&&t})(document.getElementById('msg-task').textContent)", "the task message")


def test_create_task_for_two_devices(console):
    sim, b, _ = console
    for d in ("7101", "7102"):
        sim.add_device(d, PID, KEY, s_version="V1.3")
    pkg = sim.store.add_package(PID, "app.bin", b"\x01" * 3000)
    msg = _create(b, pkg["id"], ["7101", "7102"], "V1.4", retry=5, interval=30, signal=20, power=40)
    assert "created tasks" in msg, msg
    ts = {t["dev_id"]: t for t in sim.tasks() if t["dev_id"] in ("7101", "7102")}
    assert sorted(ts) == ["7101", "7102"]
    for t in ts.values():
        assert (t["target"], t["package_id"], t["retry"], t["interval"], t["signal"], t["power"], t["state"]) == (
            "V1.4", pkg["id"], 5, 30, 20, 40, "pending")
    # What a device then hears from the platform: the console's settings.
    chk = api(sim, "GET", check_path(dev="7101"), auth_value=authz())
    assert chk["errno"] == 0
    assert {k: chk["data"][k] for k in ("target", "size", "md5", "retry", "interval", "signal", "power")} == {
        "target": "V1.4", "size": 3000, "md5": pkg["md5"], "retry": 5, "interval": 30, "signal": 20, "power": 40}
    row = "#tasks tr[data-task=\"%d\"]" % ts["7102"]["id"]
    b.wait("!!document.querySelector(%s)" % json.dumps(row), "the new task's row")
    assert b.text(row + " td.state") == "pending" and b.text(_row(row, 3)) == "V1.4"
    # Again for one of them: refused (open task), and the page says why.
    msg = _create(b, pkg["id"], ["7101"], "V1.5")
    assert "device 7101 already has an open task" in msg
    assert "err" in b.js("document.getElementById('msg-task').className")
    assert len([t for t in sim.tasks("7101")]) == 1


def _task_on_page(sim, b, dev):
    sim.add_device(dev, PID, KEY, s_version="V1.3")
    t = sim.publish(data=b"\x02" * 5000, target="V1.4", product_id=PID, access_key=KEY, dev_id=dev)
    row = "#tasks tr[data-task=\"%d\"]" % t["id"]
    b.wait("!!document.querySelector(%s)" % json.dumps(row), "task %d on the page" % t["id"])
    return t, row


def _act(b, row, act, state_text):
    b.click("%s button[data-act=\"%s\"]" % (row, act))
    b.wait("(function(n){return n&&n.textContent===%s})(document.querySelector(%s))"
           % (json.dumps(state_text), json.dumps(row + " td.state")), "state %s after %s" % (state_text, act))


def test_pause_then_resume(console):
    sim, b, _ = console
    t, row = _task_on_page(sim, b, "7201")
    token_check(sim, t["token"], dev="7201")  # pending -> downloading
    b.wait("document.querySelector(%s).textContent==='downloading'" % json.dumps(row + " td.state"), "downloading")
    _act(b, row, "pause", "paused")
    assert sim.task(t["id"])["state"] == "paused"
    assert b.js("!!document.querySelector(%s)" % json.dumps(row + " button[data-act=\"resume\"]"))
    assert not b.js("!!document.querySelector(%s)" % json.dumps(row + " button[data-act=\"pause\"]"))
    _act(b, row, "resume", "downloading")  # back to the state it was paused in
    assert sim.task(t["id"])["state"] == "downloading"
    assert "resumed" in b.text("#msg-action")


def test_cancel(console):
    sim, b, _ = console
    t, row = _task_on_page(sim, b, "7301")
    _act(b, row, "cancel", "cancelled")
    assert sim.task(t["id"])["state"] == "cancelled"
    assert b.js("document.querySelectorAll(%s).length" % json.dumps(row + " button")) == 0
    # The device hears it: no task any more.
    assert api(sim, "GET", check_path(dev="7301"), auth_value=authz())["errno"] == 11


def test_device_progress_result_meaning_and_events(console):
    sim, b, _ = console
    t, row = _task_on_page(sim, b, "7401")
    dev = "#devices tr[data-device=\"7401\"]"
    token_check(sim, t["token"], dev="7401")
    progress(sim, t["token"], 40, dev="7401")
    b.wait("/40%%/.test(document.querySelector(%s).textContent)" % json.dumps(dev + " td.progress"),
           "40 % on the device row")
    b.wait("document.querySelector(%s).style.width==='40%%'" % json.dumps(dev + " .bar>span"), "the bar at 40 %")
    assert b.text(dev + " td.state") == "downloading"
    progress(sim, t["token"], 205, dev="7401")  # upgrade failed: MD5 check failed
    want = "205 " + RESULTS[205][1]
    b.wait("document.querySelector(%s).textContent===%s" % (json.dumps(dev + " td.result"), json.dumps(want)), want)
    assert b.text(row + " td.result") == want and b.text(row + " td.state") == "failed"
    # The event log: the device's own events, newest first, with the code's meaning.
    b.js("(function(s){s.value='7401';s.dispatchEvent(new Event('change'))})(document.getElementById('e-dev'))")
    b.wait("document.querySelectorAll('#events-body tr').length>=5", "the device's events")
    kinds = b.js("Array.prototype.map.call(document.querySelectorAll('#events-body tr'),function(r){"
                 "return r.getAttribute('data-kind')+': '+r.cells[4].textContent})")
    assert kinds[0] == "state: downloading → failed (result 205)", kinds
    assert "progress: " + want in kinds and "progress: 40%" in kinds, kinds
    assert b.js("Array.prototype.every.call(document.querySelectorAll('#events-body tr'),function(r){"
                "return r.cells[1].textContent==='7401'})")


def test_language_switch(console):
    sim, b, _ = console
    t, row = _task_on_page(sim, b, "7501")
    _, open_row = _task_on_page(sim, b, "7502")
    token_check(sim, t["token"], dev="7501")
    progress(sim, t["token"], 104, dev="7501")  # download failed: request timed out
    dev = "#devices tr[data-device=\"7501\"]"
    b.wait("/^104 /.test(document.querySelector(%s).textContent)" % json.dumps(dev + " td.result"), "result 104")
    b.click("#lang-zh")
    b.wait("document.querySelector('h1').textContent.indexOf('控制台')>=0", "the Chinese title")
    assert b.js("document.documentElement.lang") == "zh-CN"
    assert b.text(dev + " td.result") == "104 " + RESULTS[104][2]  # 下载失败，下载请求超时
    assert b.text(row + " td.state") == "升级失败"
    assert b.text("#u-go") == "上传" and b.text("#t-go") == "创建任务"
    assert b.js("Array.prototype.map.call(document.querySelectorAll(%s),function(x){return x.textContent})"
                % json.dumps(open_row + " button")) == ["暂停", "取消"]
    # The choice survives a reload (localStorage), and switches back.
    b.call("Page.reload", session=True)
    b.wait("document.readyState==='complete' && document.querySelector('h1').textContent.indexOf('控制台')>=0",
           "Chinese after a reload")
    b.click("#lang-en")
    b.wait("document.querySelector('h1').textContent.indexOf('console')>=0", "English again")
    b.wait("document.querySelector(%s) && document.querySelector(%s).textContent===%s" % (
        json.dumps(dev + " td.result"), json.dumps(dev + " td.result"), json.dumps("104 " + RESULTS[104][1])),
        "English meaning")


def test_untrusted_strings_stay_text(console):
    # A device id and a file name full of markup are shown as text, never parsed.
    sim, b, tmp = console
    evil = "<img src=x onerror=window.__pwned=1>"
    sim.add_device(evil, PID, KEY, s_version="V1.3")
    t = sim.publish(data=b"\x03" * 100, target="V1.4", product_id=PID, access_key=KEY, dev_id=evil,
                    name="<b>x</b>.bin")
    b.wait("!!document.querySelector('#tasks tr[data-task=\"%d\"]')" % t["id"], "the task of the odd device")
    assert b.text(_row("#tasks tr[data-task=\"%d\"]" % t["id"], 2)) == evil
    assert b.js("document.querySelectorAll('img').length") == 0
    assert b.js("window.__pwned === undefined")


def test_platform_column_only_when_devices_have_one(console, monkeypatch):
    sim, b, _ = console
    assert b.js("getComputedStyle(document.querySelector('th.platform')).display") == "none"
    sim.add_device("7601", PID, KEY, s_version="V1.3")
    plain = sim.devices
    monkeypatch.setattr(sim, "devices", lambda: [dict(d, platform="fuse" if d["dev_id"] == "7601" else "legacy")
                                                 for d in plain()])
    b.wait("getComputedStyle(document.querySelector('th.platform')).display!=='none'", "the platform column")
    b.wait("document.querySelector('#devices tr[data-device=\"7601\"] td:nth-child(3)').textContent==='fuse'",
           "the device's platform")
    monkeypatch.undo()
    b.wait("getComputedStyle(document.querySelector('th.platform')).display==='none'", "no platform column")


def test_a_real_device_run_after_upload_and_create_on_the_page(console):
    # The whole console path: the page uploads an ESP32 app image and creates the task,
    # then `onenet-ota device` (the agent on CPython + shim) updates; the page shows the
    # task succeeded with 201 and its meaning, and the device's new version.
    import argparse

    from onenet_ota_tools.commands import device as device_cmd

    sim, b, tmp = console
    sim.add_device("7701", PID, KEY, s_version="V1.3")
    img = make_app_image(48 * 1024, version="V1.9", seed=5)
    (tmp / "app-V1.9.bin").write_bytes(img)
    b.js("document.getElementById('u-product').value=%s" % json.dumps(PID))
    b.set_file("#u-file", tmp / "app-V1.9.bin")
    b.js("document.getElementById('msg-upload').textContent=''")
    b.click("#u-go")
    b.wait("/app-V1\\.9\\.bin/.test(document.getElementById('msg-upload').textContent)", "the upload")
    pkg = [p for p in sim.store.packages(PID) if p["name"] == "app-V1.9.bin"][0]
    msg = _create(b, pkg["id"], ["7701"], "V1.9", retry=3, interval=0)
    assert "created tasks" in msg, msg
    p = argparse.ArgumentParser()
    device_cmd.add_arguments(p)
    args = p.parse_args(["--runtime", "cpython", "--server", sim.url, "--product-id", PID, "--access-key", KEY,
                         "--dev-id", "7701", "--version", "V1.3", "--state-dir", str(tmp / "dev7701"),
                         "--slot-size", hex(0x80000), "--heap", "256k", "--set", "backoff_ms=10", "--json", "--quiet"])
    log = []
    s = device_cmd.run_device(args, log=log.append)
    assert s["result"] == "updated" and s["code"] == 201, (s, log[-50:])
    dev = "#devices tr[data-device=\"7701\"]"
    want = "201 " + RESULTS[201][1]
    b.wait("(function(n){return n&&n.textContent===%s})(document.querySelector(%s))"
           % (json.dumps(want), json.dumps(dev + " td.result")), want)
    assert b.text(dev + " td.state") == "succeeded" and b.text(dev + " td.s_version") == "V1.9"
    assert b.text(dev + " td.progress").strip() == "100%"
