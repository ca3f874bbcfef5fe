"""The simulator's console page at `/`: what a developer does in the OneNET console.

Add a device, upload a package (size, MD5 and the ESP32 app-image check shown), create
a task for some devices (target version, type, retry, interval, signal/power
thresholds, full or differential), pause, resume or cancel it, and watch each device's
state, progress, result code with its meaning and the event log — in Chinese or
English. The platform's console offers the same (shared/docs/onenet-ota-api.md
sections 3, 6, 7; onenet-ota-new-api.md 9.6: package, target 1-20 characters, full or
differential); the calls are the admin API's (admin_api.py).

One self-contained document: no external script, style, font or image. Every string is
in `STRINGS` (page_strings.py; both languages, the same keys: host_tests/sim/
test_sim_console.py checks it); result-code meanings come from `errnos.RESULTS`. The
script builds the DOM with createElement/textContent only (no innerHTML: device ids,
file names and event details come from devices and uploads). It talks to the admin API
with the admin cookie that `/?token=` sets, every POST with a JSON (or, for an upload,
octet-stream) body, which a cross-site form cannot send (server.Handler._admin_refusal
checks Origin as well).
"""
import base64
import hashlib
import json

from .page_strings import CODES, STRINGS


def _block(id_, value):
    # JSON inside <script type="application/json">: "</" would end the element.
    return '<script type="application/json" id="%s">%s</script>' % (
        id_, json.dumps(value, ensure_ascii=False, sort_keys=True).replace("</", "<\\/"))


def render():
    """-> (the page's HTML, the CSP source of its one script: "'sha256-...'")."""
    html = (_HEAD + _block("strings", STRINGS) + _block("codes", CODES) + _BODY + "<script>" + _JS
            + "</script></body></html>\n")
    digest = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode()
    return html, "'sha256-%s'" % digest


_HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OneNET OTA simulator</title>
<meta name="referrer" content="no-referrer">
<style>
body{font:14px sans-serif;margin:1.2em;color:#222}h1{font-size:20px}h2{font-size:16px;margin:1.2em 0 .4em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4}fieldset{border:1px solid #ccc;margin:.5em 0;padding:.5em .8em}
label{display:inline-block;margin:.2em .8em .2em 0}input[type=number]{width:6em}
.bar{display:inline-block;width:120px;height:10px;background:#eee;vertical-align:middle}
.bar>span{display:block;height:100%;background:#2a7}
.failed .bar>span,.cancelled .bar>span{background:#c33}.paused .bar>span{background:#ca3}
.msg{min-height:1.2em;margin:.3em 0}.err{color:#b00}.ok{color:#070}.warn{color:#a60}
.mono{font-family:monospace}#events{max-height:24em;overflow:auto;display:block}
#langs button[aria-pressed=true]{font-weight:bold}
</style></head><body>
"""

_BODY = """
<h1 data-i18n="title">OneNET OTA simulator — console</h1>
<p id="langs"><span data-i18n="lang">Language</span>:
 <button type="button" id="lang-zh" lang="zh">中文</button>
 <button type="button" id="lang-en" lang="en">English</button>
 <span id="status"></span></p>

<h2 data-i18n="sec_device">Add a device</h2>
<form id="f-device"><fieldset>
 <label><span data-i18n="dev_id"></span> <input id="d-dev" required maxlength="64"></label>
 <label><span data-i18n="product"></span> <input id="d-product" required maxlength="64"></label>
 <label><span data-i18n="access_key"></span> <input id="d-key" type="password" required autocomplete="off"></label>
 <label><span data-i18n="s_version"></span> <input id="d-sver" maxlength="20"></label>
 <label><span data-i18n="f_version"></span> <input id="d-fver" maxlength="20"></label>
 <button type="submit" id="d-add" data-i18n="add">Add</button>
 <div class="msg" id="msg-device"></div></fieldset></form>

<h2 data-i18n="sec_upload">Upload a package</h2>
<form id="f-upload"><fieldset>
 <label><span data-i18n="product"></span> <select id="u-product"></select></label>
 <label><span data-i18n="file"></span> <input id="u-file" type="file"></label>
 <button type="submit" id="u-go" data-i18n="upload">Upload</button>
 <div class="msg" id="msg-upload"></div></fieldset></form>
<table><thead><tr><th data-i18n="id"></th><th data-i18n="product"></th><th data-i18n="name"></th>
<th data-i18n="size"></th><th data-i18n="md5"></th><th data-i18n="image"></th></tr></thead>
<tbody id="packages"></tbody></table>

<h2 data-i18n="sec_task">Create a task</h2>
<form id="f-task"><fieldset>
 <label><span data-i18n="package"></span> <select id="t-pkg"></select></label>
 <label><span data-i18n="target"></span> <input id="t-target" required maxlength="20" pattern="[A-Za-z0-9_.\\-]{1,20}"></label>
 <label><span data-i18n="type"></span> <select id="t-type"><option value="2" data-i18n="type_2"></option>
  <option value="1" data-i18n="type_1"></option></select></label>
 <label><span data-i18n="pkg_type"></span> <select id="t-pkgtype"><option value="1" data-i18n="pkg_type_1"></option>
  <option value="2" data-i18n="pkg_type_2"></option></select></label>
 <label><span data-i18n="from_version"></span> <input id="t-from" maxlength="20"></label><br>
 <label><span data-i18n="retry"></span> <input id="t-retry" type="number" min="0" max="100" value="3"></label>
 <label><span data-i18n="interval"></span> <input id="t-interval" type="number" min="0" max="604800" value="60"></label>
 <label><span data-i18n="signal"></span> <input id="t-signal" type="number" min="0" max="100" value="0"></label>
 <label><span data-i18n="power"></span> <input id="t-power" type="number" min="0" max="100" value="0"></label>
 <label><span data-i18n="manuf"></span> <input id="t-manuf" value="101" maxlength="32"></label>
 <label><span data-i18n="model"></span> <input id="t-model" value="10101" maxlength="32"></label>
 <label><input id="t-replace" type="checkbox"> <span data-i18n="replace"></span></label>
 <div><span data-i18n="devices_pick"></span>:
  <label><input type="checkbox" id="t-all"> <span data-i18n="all"></span></label> <span id="t-devs"></span></div>
 <button type="submit" id="t-go" data-i18n="create">Create task</button>
 <div class="msg" id="msg-task"></div></fieldset></form>

<h2 data-i18n="sec_tasks">Tasks</h2>
<div class="msg" id="msg-action"></div>
<table><thead><tr><th data-i18n="task"></th><th data-i18n="device"></th><th data-i18n="target"></th>
<th data-i18n="type"></th><th data-i18n="state"></th><th data-i18n="progress"></th><th data-i18n="downloaded"></th>
<th data-i18n="result"></th><th data-i18n="settings"></th><th data-i18n="actions"></th></tr></thead>
<tbody id="tasks"></tbody></table>

<h2 data-i18n="sec_devices">Devices</h2>
<table><thead><tr><th data-i18n="device"></th><th data-i18n="product"></th><th data-i18n="platform" class="platform"></th>
<th data-i18n="f_version"></th><th data-i18n="s_version"></th><th data-i18n="latest"></th><th data-i18n="state"></th>
<th data-i18n="progress"></th><th data-i18n="result"></th></tr></thead>
<tbody id="devices"></tbody></table>

<h2 data-i18n="sec_events">Event log</h2>
<label><span data-i18n="filter"></span> <select id="e-dev"><option value="" data-i18n="all_devices"></option></select></label>
<table id="events"><thead><tr><th data-i18n="time"></th><th data-i18n="device"></th><th data-i18n="task"></th>
<th data-i18n="kind"></th><th data-i18n="detail"></th></tr></thead><tbody id="events-body"></tbody></table>
"""

_JS = r"""
(function () {
"use strict";
var S = JSON.parse(document.getElementById("strings").textContent);
var CODES = JSON.parse(document.getElementById("codes").textContent);
var lang = "en", D = {devices: [], tasks: [], packages: [], events: []}, lastEvent = 0;
var chosen = {}, devKey = "", pkgSel = "", timer = null;
try { lang = localStorage.getItem("onenet-sim-lang") || ""; } catch (e) { lang = ""; }
if (!S[lang]) lang = /^zh/i.test(navigator.language || "") ? "zh" : "en";

function $(id) { return document.getElementById(id); }
function t(k) { var v = S[lang][k]; return v == null ? k : v; }
function el(tag, props, kids) {
  var e = document.createElement(tag), k;
  for (k in props || {}) {
    if (k === "text") e.textContent = props[k] == null ? "" : String(props[k]);
    else if (k === "class") e.className = props[k];
    else e.setAttribute(k, props[k]);
  }
  (kids || []).forEach(function (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
  return e;
}
function td(text, cls) { return el("td", cls ? {text: text, "class": cls} : {text: text}); }
function fill(node, kids) { while (node.firstChild) node.removeChild(node.firstChild); kids.forEach(function (c) { node.appendChild(c); }); }
function say(id, text, kind) { var m = $(id); m.textContent = text; m.className = "msg " + (kind || "ok"); }
function enc(s) { return encodeURIComponent(s); }
function meaning(code) {
  if (code == null || code === "") return "";
  var m = CODES[String(code)];
  return code + " " + (m ? m[lang === "zh" ? 1 : 0] : t("code_unknown"));
}
function stateText(s) { return s ? t("state_" + s) : ""; }
function pct(task) {
  if (!task) return 0;
  if (task.state === "succeeded" || task.state === "upgrading") return 100;
  return Math.max(0, Math.min(100, task.progress || 0));
}
function bar(task) {
  var p = pct(task);
  return el("td", {"class": "progress"}, [el("span", {"class": "bar"}, [el("span", {style: "width:" + p + "%"})]), " " + p + "%"]);
}

// The admin API: JSON in and out; errors come back as {"error": ...}.
function api(method, path, body, binary) {
  var o = {method: method, credentials: "same-origin", headers: {}};
  if (body !== undefined) {
    o.headers["Content-Type"] = binary ? "application/octet-stream" : "application/json";
    o.body = binary ? body : JSON.stringify(body);
  }
  return fetch(path, o).then(function (r) {
    return r.json().catch(function () { return {}; }).then(function (j) {
      if (!r.ok) throw new Error((j && j.error) || ("HTTP " + r.status));
      return j;
    });
  });
}

function imageText(img) {
  if (!img) return t("img_none");
  if (!img.ok) return t("img_bad") + ": " + img.error;
  var s = t("img_ok") + " (" + t("chip") + " " + img.chip;
  if (img.version) s += ", " + t("embedded") + " " + img.version;
  return s + ")";
}

function applyLang() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (n) { n.textContent = t(n.getAttribute("data-i18n")); });
  $("lang-zh").setAttribute("aria-pressed", String(lang === "zh"));
  $("lang-en").setAttribute("aria-pressed", String(lang === "en"));
  render();
}
function setLang(l) {
  lang = l;
  try { localStorage.setItem("onenet-sim-lang", l); } catch (e) { /* private mode */ }
  applyLang();
}

function keepOptions(sel, items, keep) {
  var old = sel.value, key = JSON.stringify(items);
  if (sel.getAttribute("data-key") === key) {  // unchanged: leave an open list alone
    if (keep != null && items.some(function (it) { return it[0] === keep; })) sel.value = keep;
    return;
  }
  sel.setAttribute("data-key", key);
  fill(sel, items.map(function (it) { return el("option", {value: it[0], text: it[1]}); }));
  if (keep != null && items.some(function (it) { return it[0] === keep; })) sel.value = keep;
  else if (items.some(function (it) { return it[0] === old; })) sel.value = old;
}

function render() {
  var products = [], seen = {};
  D.devices.forEach(function (d) { if (!seen[d.product_id]) { seen[d.product_id] = 1; products.push([d.product_id, d.product_id]); } });
  keepOptions($("u-product"), products);
  keepOptions($("t-pkg"), D.packages.map(function (p) { return [String(p.id), "#" + p.id + " " + p.name + " (" + p.product_id + ", " + p.size + " B)"]; }), pkgSel || null);
  pkgSel = "";
  keepOptions($("e-dev"), [["", t("all_devices")]].concat(D.devices.map(function (d) { return [d.dev_id, d.dev_id]; })));

  fill($("packages"), D.packages.length ? D.packages.map(function (p) {
    return el("tr", {"data-package": p.id}, [td(p.id), td(p.product_id), td(p.name), td(p.size), td(p.md5, "mono"), td(imageText(p.image))]);
  }) : [el("tr", {}, [el("td", {colspan: 6, text: t("none")})])]);

  // Devices to choose from: those of the chosen package's product.
  var pkg = null, pid = $("t-pkg").value;
  D.packages.forEach(function (p) { if (String(p.id) === pid) pkg = p; });
  var devs = D.devices.filter(function (d) { return pkg && d.product_id === pkg.product_id; });
  var key = lang + "|" + devs.map(function (d) { return d.dev_id; }).join(",");
  if (key !== devKey) {
    devKey = key;
    fill($("t-devs"), devs.map(function (d) {
      var box = el("input", {type: "checkbox", "data-dev": d.dev_id});
      box.checked = !!chosen[d.dev_id];
      return el("label", {}, [box, " " + d.dev_id]);
    }));
  }

  fill($("tasks"), D.tasks.length ? D.tasks.slice().reverse().map(function (k) {
    var acts = el("td", {"class": "actions"});
    [["pause", ["pending", "downloading", "upgrading"]], ["resume", ["paused"]], ["cancel", ["pending", "downloading", "upgrading", "paused"]]].forEach(function (a) {
      if (a[1].indexOf(k.state) >= 0) acts.appendChild(el("button", {type: "button", "data-act": a[0], "data-task": k.id, text: t(a[0])}));
    });
    return el("tr", {"data-task": k.id, "class": k.state}, [td(k.id), td(k.dev_id), td(k.target), td(k.type === 1 ? "FOTA" : "SOTA"),
      td(stateText(k.state), "state"), bar(k), td((k.served || 0) + " / " + (k.size == null ? "?" : k.size)),
      td(meaning(k.result), "result"), td([k.retry, k.interval, k.signal, k.power].join(" / ")), acts]);
  }) : [el("tr", {}, [el("td", {colspan: 10, text: t("none")})])]);

  var plat = D.devices.some(function (d) { return d.platform != null; });
  Array.prototype.forEach.call(document.querySelectorAll("th.platform"), function (n) { n.style.display = plat ? "" : "none"; });
  fill($("devices"), D.devices.map(function (d) {
    var k = d.task || {};
    var row = [td(d.dev_id), td(d.product_id)];
    if (plat) row.push(td(d.platform));
    row.push(td(d.f_version, "f_version"), td(d.s_version, "s_version"), td(k.id), td(stateText(k.state), "state"), bar(d.task), td(meaning(k.result), "result"));
    return el("tr", {"data-device": d.dev_id, "class": k.state || ""}, row);
  }));
  renderEvents();
}

function eventText(e) {
  var d = e.detail || {};
  if (e.kind === "state") return stateText(d.old) + " → " + stateText(d.new) + (d.why ? " (" + d.why + ")" : "");
  if (e.kind === "progress") return d.step > 100 ? meaning(d.step) : d.step + "%";
  return JSON.stringify(d);
}
function renderEvents() {
  var f = $("e-dev").value;
  var ev = D.events.filter(function (e) { return !f || e.dev_id === f; }).slice(-300).reverse();
  fill($("events-body"), ev.map(function (e) {
    var k = S[lang]["ev_" + e.kind];
    return el("tr", {"data-event": e.id, "data-kind": e.kind}, [td(new Date(e.ts * 1000).toISOString().replace("T", " ").slice(0, 19)),
      td(e.dev_id), td(e.task_id), td(k == null ? e.kind : k), td(eventText(e))]);
  }));
}

var inflight = null, again = false, lastSnap = "";
function refresh() {
  // One poll at a time: an action's refresh during a poll runs right after it.
  if (inflight) { again = true; return inflight; }
  if (timer) { clearTimeout(timer); timer = null; }
  inflight = Promise.all([api("GET", "/admin/devices"), api("GET", "/admin/tasks"), api("GET", "/admin/packages"),
                          api("GET", "/admin/events?since=" + lastEvent)]).then(function (r) {
    var snap = JSON.stringify([r[0], r[1], r[2]]);
    D.devices = r[0].devices; D.tasks = r[1].tasks; D.packages = r[2].packages;
    r[3].events.forEach(function (e) { D.events.push(e); lastEvent = Math.max(lastEvent, e.id); });
    if (D.events.length > 2000) D.events = D.events.slice(-1000);
    // Redraw only what changed (a selection or an open list survives a quiet poll).
    if (snap !== lastSnap || r[3].events.length) { lastSnap = snap; render(); }
    $("status").textContent = t("updated") + " " + new Date().toLocaleTimeString();
    $("status").className = "";
  }).catch(function (e) {
    $("status").textContent = t("offline") + ": " + e.message;
    $("status").className = "err";
  }).then(function () {
    inflight = null;
    if (again) { again = false; return refresh(); }
    timer = setTimeout(refresh, 1000);
  });
  return inflight;
}

function num(id) { return parseInt($(id).value, 10); }

$("lang-zh").addEventListener("click", function () { setLang("zh"); });
$("lang-en").addEventListener("click", function () { setLang("en"); });
$("e-dev").addEventListener("change", renderEvents);
$("t-pkg").addEventListener("change", function () { pkgSel = $("t-pkg").value; render(); });
$("t-devs").addEventListener("change", function (ev) {
  var d = ev.target.getAttribute("data-dev");
  if (d) chosen[d] = ev.target.checked;
});
$("t-all").addEventListener("change", function () {
  var on = $("t-all").checked;
  Array.prototype.forEach.call($("t-devs").querySelectorAll("input[data-dev]"), function (b) { b.checked = on; chosen[b.getAttribute("data-dev")] = on; });
});

$("f-device").addEventListener("submit", function (ev) {
  ev.preventDefault();
  var b = {dev_id: $("d-dev").value.trim(), product_id: $("d-product").value.trim(), access_key: $("d-key").value.trim()};
  if ($("d-sver").value.trim()) b.s_version = $("d-sver").value.trim();
  if ($("d-fver").value.trim()) b.f_version = $("d-fver").value.trim();
  api("POST", "/admin/devices", b).then(function (d) {
    $("d-key").value = "";
    say("msg-device", t("added") + ": " + d.dev_id + " (" + d.product_id + ")");
    return refresh();
  }).catch(function (e) { say("msg-device", e.message, "err"); });
});

$("f-upload").addEventListener("submit", function (ev) {
  ev.preventDefault();
  var f = $("u-file").files[0], pid = $("u-product").value;
  if (!f) { say("msg-upload", t("need_file"), "err"); return; }
  if (!pid) { say("msg-upload", t("need_product"), "err"); return; }
  say("msg-upload", t("uploading"));
  api("POST", "/admin/packages?product_id=" + enc(pid) + "&name=" + enc(f.name), f, true).then(function (p) {
    say("msg-upload", t("uploaded") + ": #" + p.id + " " + p.name + " · " + t("size") + " " + p.size + " · MD5 " + p.md5 + " · " + imageText(p.image),
        p.image && !p.image.ok ? "warn" : "ok");
    pkgSel = String(p.id);
    return refresh();
  }).catch(function (e) { say("msg-upload", e.message, "err"); });
});

$("f-task").addEventListener("submit", function (ev) {
  ev.preventDefault();
  var devs = Array.prototype.filter.call($("t-devs").querySelectorAll("input[data-dev]"), function (b) { return b.checked; })
    .map(function (b) { return b.getAttribute("data-dev"); });
  if (!$("t-pkg").value) { say("msg-task", t("need_package"), "err"); return; }
  if (!devs.length) { say("msg-task", t("need_devices"), "err"); return; }
  var b = {package_id: parseInt($("t-pkg").value, 10), target: $("t-target").value.trim(), dev_ids: devs,
           type: num("t-type"), pkg_type: num("t-pkgtype"), retry: num("t-retry"), interval: num("t-interval"),
           signal: num("t-signal"), power: num("t-power"), manuf: $("t-manuf").value.trim(), model: $("t-model").value.trim(),
           replace: $("t-replace").checked};
  if ($("t-from").value.trim()) b.from_version = $("t-from").value.trim();
  api("POST", "/admin/tasks", b).then(function (r) {
    var s = t("created") + ": " + r.tasks.map(function (k) { return "#" + k.id + " (" + k.dev_id + ")"; }).join(", ");
    if (r.warnings && r.warnings.length) s += " · " + t("warning") + ": " + r.warnings.join("; ");
    say("msg-task", s, r.warnings && r.warnings.length ? "warn" : "ok");
    chosen = {}; devKey = ""; $("t-all").checked = false;  // the next task starts with no device ticked
    return refresh();
  }).catch(function (e) { say("msg-task", e.message, "err"); });
});

$("tasks").addEventListener("click", function (ev) {
  var b = ev.target, act = b.getAttribute && b.getAttribute("data-act"), id = b.getAttribute && b.getAttribute("data-task");
  if (!act || !id) return;
  b.disabled = true;
  api("POST", "/admin/tasks/" + enc(id) + "/" + act, {}).then(function (k) {
    say("msg-action", t("task") + " #" + k.id + ": " + t("done_" + act));
    return refresh();
  }).catch(function (e) { say("msg-action", e.message, "err"); b.disabled = false; });
});

applyLang();
refresh();
})();
"""
