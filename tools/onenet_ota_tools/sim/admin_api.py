"""The admin JSON API under `/admin/...` and the console page at `/` (page.py).

    GET  /admin/devices                       devices with their latest task
    POST /admin/devices      {"dev_id","product_id","access_key"[,"f_version","s_version"]}
    GET  /admin/tasks[?dev_id=]               tasks (token, size, md5, state, served...)
    POST /admin/tasks        {"package_id","target","dev_ids":[...][,"type","retry","interval",
         "signal","power","pkg_type","from_version","manuf","model","replace"]}
         (Content-Type: application/json)        -> {"tasks": [...], "warnings": [...]}
    GET  /admin/packages[?product_id=]        uploaded packages (size, md5, image check)
    POST /admin/packages?product_id=&name=    body: the package bytes
         (Content-Type: application/octet-stream) -> the package
    GET  /admin/tasks/{id}
    POST /admin/tasks/{id}/cancel|pause|resume|expire
    POST /admin/publish?target=&product_id=&access_key=&dev_id=[&type=&manuf=&model=
         &retry=&interval=&signal=&power=&pkg_type=&from_version=&name=&replace=1]
         body: the package bytes (raw)            -> the task
    GET  /admin/events?dev_id=|task=[&since=ID]
    GET  /admin/faults     POST /admin/faults {"dev_id": D | "task": ID, knob: value...}
    DELETE /admin/faults[?dev_id=|task=]
    GET  /admin/modes      POST /admin/modes {mode: value...}   (global; faults.MODES)
    GET  /admin/clock      POST /admin/clock {"advance": S} | {"set": T} | {"freeze": true}
    GET  /admin/stats      POST /admin/stats/reset
Errors: HTTP 4xx with {"error": message}. Access keys are never returned.
Every call (and the page) needs the admin token: server.Handler._admin_refusal. publish
takes the access key from the `X-Access-Key` header (the CLI's way: a query string ends
up in logs and tracebacks) or the query. The console page's two calls (POST /admin/packages,
POST /admin/tasks) insist on their Content-Type (415 otherwise), and so does every change
made with the cookie rather than Bearer (JSON or octet-stream): a cross-site form can send
neither, on top of the Origin checks.
"""
import json
import math
import threading

from .store import OPEN, VERSION_RE, AdminError

_INT = ("type", "retry", "interval", "signal", "power", "pkg_type")


def handle(h, method, path, q, body):
    sim = h.server.sim
    try:
        _browser_write_check(h, method)
        out = _dispatch(sim, method, path, q, body, h)
        if out is not None:
            h.json(out)
    except AdminError as e:
        h.json({"error": str(e)}, e.status)
    except (ValueError, TypeError, KeyError) as e:
        h.json({"error": "bad request: %s" % e}, 400)


def _browser_write_check(h, method):
    # A change made with the cookie (a browser; the CLI sends Bearer) must carry a body type
    # no cross-site form can send: JSON, or octet-stream for an upload (defence in depth
    # behind the Origin / Sec-Fetch-Site checks of server.Handler._admin_refusal).
    if method in ("GET", "HEAD") or (h.headers.get("Authorization") or "")[:7].lower() == "bearer ":
        return
    got = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if got not in ("application/json", "application/octet-stream"):
        raise AdminError("%s with the admin cookie: Content-Type application/json required (got %s)"
                         % (method, got or "none"), 415)


def _json(body):
    if not body:
        return {}
    v = json.loads(body.decode("utf-8"))
    if not isinstance(v, dict):
        raise ValueError("JSON object expected")
    return v


def _dispatch(sim, method, path, q, body, h):
    parts = [p for p in path.split("/") if p]
    if path == "/" and method == "GET":
        h.respond(200, PAGE, "text/html; charset=utf-8", extra=_PAGE_HEADERS)
        return None
    if path == "/favicon.ico":
        h.respond(404, b"")
        return None
    if parts == ["admin", "devices"]:
        if method == "GET":
            return {"devices": sim.devices()}
        if method == "POST":
            b = _json(body)
            return sim.add_device(b["dev_id"], b["product_id"], b["access_key"], b.get("f_version"),
                                  b.get("s_version"), **_dialect_fields(b))
    if parts == ["admin", "tasks"] and method == "GET":
        return {"tasks": sim.tasks(q.get("dev_id"))}
    if parts == ["admin", "tasks"] and method == "POST":
        _need_type(h, "application/json")
        return create_tasks(sim, _json(body))
    if parts == ["admin", "packages"]:
        if method == "GET":
            return {"packages": [package_view(sim, p) for p in sim.store.packages(q.get("product_id"))]}
        if method == "POST":
            _need_type(h, "application/octet-stream")
            return upload(sim, q.get("product_id") or "", q.get("name") or "", body)
    if parts[:2] == ["admin", "tasks"] and len(parts) == 3 and method == "GET":
        return sim.task(int(parts[2]))
    if parts[:2] == ["admin", "tasks"] and len(parts) == 4 and method == "POST":
        return sim.store_action(int(parts[2]), parts[3])
    if parts == ["admin", "publish"] and method == "POST":
        q = dict(q)
        if h.headers.get("X-Access-Key"):
            q["access_key"] = h.headers["X-Access-Key"].strip()
        kw = {k: q[k] for k in ("target", "product_id", "access_key", "dev_id") if k in q}
        missing = [k for k in ("target", "product_id", "access_key", "dev_id") if k not in kw]
        if missing:
            raise AdminError("publish: missing %s" % ", ".join(missing))
        for k in _INT:
            if k in q:
                kw[k] = int(q[k])
        for k in ("manuf", "model", "from_version", "name", "f_version", "s_version"):
            if k in q:
                kw[k] = q[k]
        kw["replace"] = q.get("replace", "") in ("1", "true", "yes")
        if q.get("platform"):
            kw["platform"] = q["platform"]  # the product's dialect (below)
        return sim.publish(data=body, **kw)
    if parts == ["admin", "events"] and method == "GET":
        return {"events": sim.events(q.get("dev_id"), int(q["task"]) if q.get("task") else None,
                                     int(q.get("since") or 0))}
    if parts == ["admin", "faults"]:
        if method == "GET":
            return {"faults": sim.faults.all()}
        if method == "DELETE":
            sim.clear_faults(_target(q) if ("dev_id" in q or "task" in q) else None)
            return {"faults": sim.faults.all()}
        if method == "POST":
            b = _json(body)
            target = _target(b)
            b.pop("dev_id", None)
            b.pop("task", None)
            return {"target": target, "knobs": sim.fault(target, **b)}
    if parts == ["admin", "modes"]:
        if method == "POST":
            return {"modes": sim.modes(**_json(body))}
        if method == "GET":
            return {"modes": sim.modes()}
    if parts == ["admin", "clock"]:
        if method == "POST":
            b = _json(body)
            if "set" in b:
                sim.clock.set(_seconds(b["set"], "set", 0))
            if "advance" in b:
                sim.clock.advance(_seconds(b["advance"], "advance", -1e10))
            if b.get("freeze"):
                sim.clock.freeze()
        return {"now": sim.clock.now()}
    if parts == ["admin", "stats"]:
        if method == "POST":
            sim.stats.reset()
        return sim.stats.as_dict()
    raise AdminError("no such admin call: %s %s" % (method, path), 404)


def _seconds(v, what, lo):
    # nan/inf (or a year past 2286) in the clock would break every later call.
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise AdminError("clock %s: a number of seconds" % what)
    try:
        x = float(v)
    except ValueError:
        raise AdminError("clock %s: a number of seconds" % what)
    if not math.isfinite(x) or not lo <= x <= 1e10:
        raise AdminError("clock %s: finite, %g..1e10 seconds" % (what, lo))
    return x


def _target(d):
    if d.get("task") not in (None, ""):
        return int(d["task"])
    if d.get("dev_id"):
        return str(d["dev_id"])
    raise AdminError("faults: dev_id or task")


# -- the console page's calls --------------------------------------------------------------
def _need_type(h, ctype):
    got = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if got != ctype:
        raise AdminError("Content-Type: %s required (got %s)" % (ctype, got or "none"), 415)


def upload(sim, product_id, name, data):
    """Store a package for an existing product -> the package with its image check."""
    s = sim.store
    if not product_id or s.product(product_id) is None:
        raise AdminError("no product %r: add a device of it first (POST /admin/devices or `onenet-ota "
                         "publish`)" % product_id, 404)
    pkg = s.add_package(product_id, name or "firmware.bin", data)
    return package_view(sim, pkg, data)


def package_view(sim, p, data=None):
    return {"id": p["id"], "product_id": p["pid"], "name": p["name"], "size": p["size"], "md5": p["md5"],
            "created": p["created"], "image": image_check(sim, p, data)}


_checks = {}  # (package id, md5) -> image check; packages never change once stored
_checks_lock = threading.Lock()


def image_check(sim, p, data=None):
    """The ESP32 app-image check of `onenet-ota package` (board.esp_image.check_app) for a
    package starting with the app magic 0xE9; None for anything else (no check made)."""
    key = (p["id"], p["md5"])
    with _checks_lock:
        if key in _checks:
            return _checks[key]
    if data is None:
        data = sim.package_bytes(p)
    out = None
    if data and data[:1] == b"\xe9":
        try:
            from ..board import ToolError, esp_image
        except ImportError as e:  # pragma: no cover - esptool is a pinned dependency
            out = {"ok": False, "error": "no image check: %s" % e}
        else:
            try:
                info = esp_image.check_app(data)
                out = {"ok": True, "kind": info["kind"], "chip": info["chip"], "version": info["version"],
                       "project": info["project"], "idf": info["idf"], "image_sha256": info["image_sha256"],
                       "trailing": info["trailing"]}
            except ToolError as e:
                out = {"ok": False, "error": str(e)}
            except ImportError as e:  # pragma: no cover
                out = {"ok": False, "error": "no image check: %s" % e}
    with _checks_lock:
        if len(_checks) > 1024:
            _checks.clear()
        _checks[key] = out
    return out


_LIMITS = {"type": (1, 2, 2), "pkg_type": (1, 2, 1), "retry": (0, 100, 3), "interval": (0, 604800, 60),
           "signal": (0, 100, 0), "power": (0, 100, 0)}  # (lo, hi, default)


def _int_field(b, k):
    lo, hi, default = _LIMITS[k]
    v = b.get(k, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise AdminError("%s: an integer %d..%d" % (k, lo, hi))
    return v


def _str_field(b, k, default, check=None):
    v = b.get(k, default)
    if v is None:
        return None
    if not isinstance(v, str) or not v or len(v) > 64 or (check is not None and not check.match(v)):
        raise AdminError("%s: %s" % (k, "1-20 characters of [A-Za-z0-9_.-]" if check else "a short string"))
    return v


def create_tasks(sim, b):
    """One task per device for an uploaded package (the console's "create task"): every
    device is checked (exists, is of the package's product, has no open task of this type
    unless `replace`) before any task is made, so a refusal creates none."""
    pkg_id = b.get("package_id")
    if isinstance(pkg_id, bool) or not isinstance(pkg_id, int):
        raise AdminError("package_id: an integer")
    devs = b.get("dev_ids", [b["dev_id"]] if "dev_id" in b else None)
    if not isinstance(devs, list) or not devs or len(devs) > 1000 or not all(
            isinstance(d, str) and d for d in devs):
        raise AdminError("dev_ids: a list of 1-1000 device ids")
    if len(set(devs)) != len(devs):
        raise AdminError("dev_ids: a device is listed twice")
    target = b.get("target")
    if not isinstance(target, str) or not VERSION_RE.match(target):
        raise AdminError("target: 1-20 characters of [A-Za-z0-9_.-]")
    kw = {k: _int_field(b, k) for k in _LIMITS}
    kw["manuf"] = _str_field(b, "manuf", "101")
    kw["model"] = _str_field(b, "model", "10101")
    kw["from_version"] = _str_field(b, "from_version", None, VERSION_RE)
    replace = b.get("replace", False)
    if not isinstance(replace, bool):
        raise AdminError("replace: true or false")
    s = sim.store
    with s.lock:
        pkg = s.package(pkg_id)
        if pkg is None:
            raise AdminError("no package %d" % pkg_id, 404)
        for d in devs:
            dev = s.device(d)
            if dev is None:
                raise AdminError("no device %s" % d, 404)
            if dev["pid"] != pkg["pid"]:
                raise AdminError("device %s is of product %s, package %d of product %s"
                                 % (d, dev["pid"], pkg_id, pkg["pid"]), 409)
            old = s.open_task(d, kw["type"])
            if old is not None and old["state"] in OPEN and not replace:
                raise AdminError("device %s already has an open task %d of type %d (tick replace)"
                                 % (d, old["id"], kw["type"]), 409)
        made = [s.create_task(d, pkg_id, target, replace=replace, **kw) for d in devs]
    warnings = []
    img = image_check(sim, pkg)
    if img and img.get("ok") and img.get("version") and img["version"] != target:
        warnings.append("the package embeds version %s, the target is %s" % (img["version"], target))
    return {"tasks": [sim.task_created(t["id"]) for t in made], "warnings": warnings}


def _page():
    from .page import render

    html, script = render()
    # Everything is inline: only the page's own script (by its hash) runs, nothing loads
    # from elsewhere, no frame may hold the page.
    csp = ("default-src 'none'; script-src %s; style-src 'unsafe-inline'; connect-src 'self'; "
           "form-action 'none'; frame-ancestors 'none'; base-uri 'none'" % script)
    return html.encode("utf-8"), [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
                                  ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"),
                                  ("Content-Security-Policy", csp)]


PAGE, _PAGE_HEADERS = _page()


# -- issue 14 (dialects): a product's platform and the keys of its other token levels ---------
# POST /admin/devices {"dev_id", "product_id", "access_key", "platform": legacy|fuse|studio,
# "user_id", "user_key" (fuse user-level tokens), "dev_key" (device-level tokens)};
# publish takes ?platform=. sim/dialects.py serves them.
_DIALECT = ("platform", "user_id", "user_key", "dev_key")


def _dialect_fields(b):
    return {k: b[k] for k in _DIALECT if b.get(k) is not None}
