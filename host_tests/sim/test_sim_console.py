# The admin calls behind the console page (sim/admin_api.py: POST/GET /admin/packages,
# POST /admin/tasks) over HTTP, and the page's own rules checked on its source: every
# string in both languages, no external asset, no innerHTML, a CSP that runs only its
# script. The page in a browser: test_sim_page.py.
import base64
import hashlib
import json
import re

from onenet_ota_tools.errnos import RESULTS
from onenet_ota_tools.images import make_app_image
from onenet_ota_tools.sim import page
from onenet_ota_tools.sim.store import STATES
from test_sim_support import DEV, KEY, PID, api, authz, check_path, publish, request, sim  # noqa: F401

BIN = {"Content-Type": "application/octet-stream"}
JSON = {"Content-Type": "application/json"}


def post_json(sim, path, body, headers=JSON):  # noqa: F811
    st, _, b = request(sim, "POST", path, json.dumps(body).encode(), headers)
    return st, json.loads(b)


def upload(sim, data, name="app.bin", pid=PID, headers=BIN):  # noqa: F811
    st, _, b = request(sim, "POST", "/admin/packages?product_id=%s&name=%s" % (pid, name), data, headers)
    return st, json.loads(b)


def device(sim, dev, pid=PID, key=KEY):  # noqa: F811
    return sim.add_device(dev, pid, key, s_version="V1.3")


# -- upload ----------------------------------------------------------------------------
def test_upload_stores_the_bytes_and_answers_size_and_md5(sim):  # noqa: F811
    device(sim, DEV)
    data = bytes(range(256)) * 300
    st, p = upload(sim, data, name="fw.bin")
    assert st == 200, p
    assert (p["product_id"], p["name"], p["size"], p["md5"], p["image"]) == (
        PID, "fw.bin", len(data), hashlib.md5(data).hexdigest(), None)  # not 0xE9: no image check
    with open(sim.store.package(p["id"])["path"], "rb") as f:
        assert f.read() == data
    st, _, b = request(sim, "GET", "/admin/packages")
    assert st == 200 and [x["id"] for x in json.loads(b)["packages"]] == [p["id"]]
    assert "path" not in json.loads(b)["packages"][0]  # no server paths in answers


def test_upload_runs_the_esp32_image_check(sim):  # noqa: F811
    device(sim, DEV)
    img = make_app_image(30000, version="V2.1", embed_version=True)
    st, p = upload(sim, img)
    assert st == 200 and p["image"]["ok"] is True, p
    assert (p["image"]["chip"], p["image"]["version"], p["image"]["kind"]) == ("esp32", "V2.1", "esp-app")
    bad = bytearray(img)
    bad[15000] ^= 1
    st, p = upload(sim, bytes(bad))
    assert st == 200 and p["image"]["ok"] is False and "corrupt" in p["image"]["error"], p
    st, p = upload(sim, b"\xe9" + b"\0" * 10)
    assert st == 200 and "shorter than its 64-byte header" in p["image"]["error"]
    # The listing carries the same checks (cached per package).
    st, _, b = request(sim, "GET", "/admin/packages?product_id=%s" % PID)
    assert [x["image"]["ok"] for x in json.loads(b)["packages"]] == [False, False, True]


def test_upload_refusals(sim):  # noqa: F811
    device(sim, DEV)
    assert upload(sim, b"x" * 10, pid="999")[0] == 404  # unknown product: nothing stored
    assert upload(sim, b"")[0] == 400
    # Content types a cross-site form can send are refused even with the token.
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        st, e = upload(sim, b"x" * 10, headers={"Content-Type": ctype} if ctype else {})
        assert st == 415 and "application/octet-stream" in e["error"], (ctype, st, e)
    assert sim.store.packages() == []


def test_upload_with_the_cookie_from_another_origin_is_refused(sim):  # noqa: F811
    device(sim, DEV)
    h = dict(BIN, Cookie="onenet_sim_admin=" + sim.admin_token, Origin="http://evil.example",
             Authorization="")
    st, _, b = request(sim, "POST", "/admin/packages?product_id=%s" % PID, b"x" * 10, h)
    assert st == 403 and sim.store.packages() == []
    h["Origin"] = sim.url
    st, _, b = request(sim, "POST", "/admin/packages?product_id=%s" % PID, b"x" * 10, h)
    assert st == 200, b  # the page's own way: same origin, the cookie


def test_a_change_with_the_cookie_needs_a_json_body_type(sim):  # noqa: F811
    t = publish(sim)
    cookie = {"Cookie": "onenet_sim_admin=" + sim.admin_token, "Authorization": "", "Origin": sim.url}
    path = "/admin/tasks/%d/cancel" % t["id"]
    for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
        h = dict(cookie, **({"Content-Type": ctype} if ctype else {}))
        st, _, b = request(sim, "POST", path, b"{}", h)
        assert st == 415, (ctype, st, b)
    st, _, b = request(sim, "DELETE", "/admin/faults", None, cookie)
    assert st == 415
    assert sim.task(t["id"])["state"] == "pending"
    st, _, b = request(sim, "GET", "/admin/tasks", None, cookie)
    assert st == 200  # reading needs no body type
    st, _, b = request(sim, "POST", path, b"{}", dict(cookie, **JSON))
    assert st == 200 and json.loads(b)["state"] == "cancelled"
    # The CLI's way (Bearer) is unchanged: no body type needed.
    t2 = publish(sim, dev="d9")
    st, _, b = request(sim, "POST", "/admin/tasks/%d/pause" % t2["id"])
    assert st == 200 and json.loads(b)["state"] == "paused"


# -- create task --------------------------------------------------------------------------
def test_create_tasks_for_several_devices(sim):  # noqa: F811
    for d in ("d1", "d2", "d3"):
        device(sim, d)
    _, p = upload(sim, b"\x05" * 4096)
    st, r = post_json(sim, "/admin/tasks", {"package_id": p["id"], "target": "V1.4", "dev_ids": ["d1", "d3"],
                                            "retry": 7, "interval": 15, "signal": 30, "power": 60})
    assert st == 200, r
    assert [t["dev_id"] for t in r["tasks"]] == ["d1", "d3"] and r["warnings"] == []
    for t in r["tasks"]:
        assert (t["state"], t["target"], t["type"], t["pkg_type"], t["size"], t["md5"]) == (
            "pending", "V1.4", 2, 1, 4096, p["md5"])
    assert sim.tasks("d2") == []
    chk = api(sim, "GET", check_path(dev="d3"), auth_value=authz())
    assert chk["errno"] == 0 and {k: chk["data"][k] for k in ("retry", "interval", "signal", "power", "md5")} == {
        "retry": 7, "interval": 15, "signal": 30, "power": 60, "md5": p["md5"]}


def test_create_task_fota_and_differential(sim):  # noqa: F811
    device(sim, "d1")
    _, p = upload(sim, b"\x06" * 100)
    st, r = post_json(sim, "/admin/tasks", {"package_id": p["id"], "target": "V2", "dev_ids": ["d1"], "type": 1,
                                            "pkg_type": 2, "from_version": "V1.3", "manuf": "102", "model": "20202"})
    assert st == 200, r
    t = sim.store.task(r["tasks"][0]["id"])
    assert (t["type"], t["pkg_type"], t["from_version"], t["manuf"], t["model"]) == (1, 2, "V1.3", "102", "20202")


def test_create_task_is_all_or_nothing(sim):  # noqa: F811
    import base64 as b64

    device(sim, "d1")
    device(sim, "d2")
    sim.add_device("other", "555", b64.b64encode(b"another product key").decode())
    _, p = upload(sim, b"\x07" * 100)
    base = {"package_id": p["id"], "target": "V1.4"}
    assert post_json(sim, "/admin/tasks", dict(base, dev_ids=["d1", "nope"]))[0] == 404
    st, e = post_json(sim, "/admin/tasks", dict(base, dev_ids=["d1", "other"]))
    assert st == 409 and "product 555" in e["error"]
    assert sim.tasks() == []  # d1 got nothing from the refused calls
    assert post_json(sim, "/admin/tasks", dict(base, dev_ids=["d2"]))[0] == 200
    st, e = post_json(sim, "/admin/tasks", dict(base, dev_ids=["d1", "d2"], target="V1.5"))
    assert st == 409 and "d2 already has an open task" in e["error"] and sim.tasks("d1") == []
    st, r = post_json(sim, "/admin/tasks", dict(base, dev_ids=["d1", "d2"], target="V1.5", replace=True))
    assert st == 200
    assert [t["state"] for t in sim.tasks("d2")] == ["cancelled", "pending"]


def test_create_task_refuses_bad_fields(sim):  # noqa: F811
    device(sim, "d1")
    _, p = upload(sim, b"\x08" * 100)
    base = {"package_id": p["id"], "target": "V1.4", "dev_ids": ["d1"]}
    for bad in ({"target": "V 1"}, {"target": "x" * 21}, {"target": 14}, {"retry": -1}, {"retry": 101},
                {"interval": "60"}, {"signal": True}, {"power": 101}, {"type": 3}, {"pkg_type": 0},
                {"dev_ids": []}, {"dev_ids": "d1"}, {"dev_ids": ["d1", "d1"]}, {"dev_ids": [1]},
                {"package_id": "1"}, {"from_version": "a b"}, {"replace": "yes"}, {"manuf": ""}):
        st, e = post_json(sim, "/admin/tasks", dict(base, **bad))
        assert st == 400 and "error" in e, (bad, st, e)
    assert post_json(sim, "/admin/tasks", dict(base, package_id=99))[0] == 404
    st, _, b = request(sim, "POST", "/admin/tasks", b"[1]", JSON)
    assert st == 400
    st, _, b = request(sim, "POST", "/admin/tasks", json.dumps(base).encode(), {"Content-Type": "text/plain"})
    assert st == 415
    assert sim.tasks() == []


def test_create_task_warns_when_the_image_embeds_another_version(sim):  # noqa: F811
    device(sim, "d1")
    device(sim, "d2")
    _, p = upload(sim, make_app_image(20000, version="V3.0", embed_version=True))
    st, r = post_json(sim, "/admin/tasks", {"package_id": p["id"], "target": "V3.1", "dev_ids": ["d1"]})
    assert st == 200 and r["warnings"] == ["the package embeds version V3.0, the target is V3.1"]
    st, r = post_json(sim, "/admin/tasks", {"package_id": p["id"], "target": "V3.0", "dev_ids": ["d2"]})
    assert st == 200 and r["warnings"] == []


# -- the console's task actions, the way the page sends them --------------------------------
def test_pause_resume_cancel_with_json_posts(sim):  # noqa: F811
    t = publish(sim)
    path = "/admin/tasks/%d/" % t["id"]
    assert post_json(sim, path + "pause", {})[1]["state"] == "paused"
    st, e = post_json(sim, path + "pause", {})
    assert st == 409 and "cannot pause" in e["error"]
    assert post_json(sim, path + "resume", {})[1]["state"] == "pending"
    assert post_json(sim, path + "cancel", {})[1]["state"] == "cancelled"
    assert api(sim, "GET", check_path(), auth_value=authz())["errno"] == 11
    kinds = [(e["detail"].get("old"), e["detail"].get("new")) for e in sim.events(task_id=t["id"])
             if e["kind"] == "state"]
    assert kinds == [("pending", "paused"), ("paused", "pending"), ("pending", "cancelled")]


# -- the page itself ----------------------------------------------------------------------
def test_every_string_in_both_languages():
    en, zh = page.STRINGS["en"], page.STRINGS["zh"]
    assert set(en) == set(zh) and all(en[k] and zh[k] for k in en)
    assert all(re.search("[\u4e00-\u9fff]", zh[k]) for k in en if k not in ("id", "md5", "access_key")), [
        k for k in en if not re.search("[\u4e00-\u9fff]", zh[k])]
    html, _ = page.render()
    used = set(re.findall(r'data-i18n="([a-z_0-9]+)"', html))
    used |= set(re.findall(r'\bt\("([a-z_0-9]+)"\)', page._JS))
    used |= {"state_" + s for s in STATES}
    used |= {"done_" + a for a in ("pause", "resume", "cancel")}
    assert used <= set(en), used - set(en)
    # Every documented result code, with both meanings, from errnos.RESULTS.
    assert page.CODES == {str(c): [v[1], v[2]] for c, v in RESULTS.items()}
    assert set(page.CODES) == {str(c) for c in list(range(101, 108)) + list(range(201, 209))}


def test_page_is_self_contained_and_builds_no_html_from_strings(sim):  # noqa: F811
    st, h, b = request(sim, "GET", "/")
    assert st == 200 and h["content-type"] == "text/html; charset=utf-8"
    html = b.decode("utf-8")
    assert not re.search(r"(src|href)\s*=", html, re.I) and "@import" not in html and "url(" not in html
    assert not re.search(r"https?://", html)
    assert "innerHTML" not in html and "outerHTML" not in html and "insertAdjacentHTML" not in html
    assert "document.write" not in html and "eval(" not in html
    # One executable script; the CSP names its hash, so nothing else (injected or not) runs.
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    csp = h["content-security-policy"]
    assert "script-src 'sha256-%s';" % digest in csp and "default-src 'none'" in csp
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert h["cache-control"] == "no-store" and h["x-frame-options"] == "DENY"
    # The JSON blocks are data: their "</" is escaped, so a string cannot end the element.
    blocks = re.findall(r'<script type="application/json" id="(\w+)">(.*?)</script>', html, re.S)
    assert [n for n, _ in blocks] == ["strings", "codes"]
    assert json.loads(blocks[1][1])["205"][1] == RESULTS[205][2]
    assert page._block("x", {"a": "</script><script>alert(1)</script>"}).count("</script>") == 1
