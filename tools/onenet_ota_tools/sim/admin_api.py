"""The admin JSON API under `/admin/...` and the read-only page at `/`.

    GET  /admin/devices                       devices with their latest task
    POST /admin/devices      {"dev_id","product_id","access_key"[,"f_version","s_version"]}
    GET  /admin/tasks[?dev_id=]               tasks (token, size, md5, state, served...)
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
up in logs and tracebacks) or the query.
"""
import json
import math

from .store import AdminError

_INT = ("type", "retry", "interval", "signal", "power", "pkg_type")


def handle(h, method, path, q, body):
    sim = h.server.sim
    try:
        out = _dispatch(sim, method, path, q, body, h)
        if out is not None:
            h.json(out)
    except AdminError as e:
        h.json({"error": str(e)}, e.status)
    except (ValueError, TypeError, KeyError) as e:
        h.json({"error": "bad request: %s" % e}, 400)


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
        h.respond(200, PAGE.encode(), "text/html; charset=utf-8")
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
                                  b.get("s_version"))
    if parts == ["admin", "tasks"] and method == "GET":
        return {"tasks": sim.tasks(q.get("dev_id"))}
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


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>OneNET OTA simulator</title>
<style>
body{font:14px sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.bar{width:200px;height:12px;background:#eee;position:relative}
.bar>div{height:100%;background:#2a7}
.failed .bar>div,.cancelled .bar>div{background:#c33}.paused .bar>div{background:#ca3}
</style></head><body>
<h1>OneNET OTA simulator</h1>
<table id="t"><thead><tr><th>device</th><th>product</th><th>f_version</th><th>s_version</th>
<th>task</th><th>target</th><th>state</th><th>download</th><th>reported</th></tr></thead>
<tbody></tbody></table>
<p id="s"></p>
<script>
function esc(s){return String(s==null?"":s).replace(/[&<>"]/g,function(c){
 return {"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]})}
function tick(){fetch("/admin/devices").then(function(r){return r.json()}).then(function(j){
 var rows=j.devices.map(function(d){var t=d.task||{};
  var pct=t.size?Math.min(100,Math.round(100*(t.served||0)/t.size)):0;
  if(t.state==="succeeded"||t.state==="upgrading")pct=100;
  return '<tr class="'+esc(t.state)+'"><td>'+esc(d.dev_id)+'</td><td>'+esc(d.product_id)+
  '</td><td>'+esc(d.f_version)+'</td><td>'+esc(d.s_version)+'</td><td>'+esc(t.id)+'</td><td>'+
  esc(t.target)+'</td><td class="state">'+esc(t.state)+'</td><td><div class="bar"><div style="width:'+
  pct+'%"></div></div> '+pct+'%</td><td>'+esc(t.progress)+'</td></tr>'});
 document.querySelector("#t tbody").innerHTML=rows.join("");
 document.getElementById("s").textContent="updated "+new Date().toLocaleTimeString();
}).catch(function(){}).then(function(){setTimeout(tick,1000)})}
tick();
</script></body></html>
"""
