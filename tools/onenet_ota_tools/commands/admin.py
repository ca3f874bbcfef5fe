# onenet-ota publish / onenet-ota admin: talk to a running simulator's /admin API.
import argparse
import json
import os
import urllib.error
import urllib.parse
import urllib.request

from ..cli import CommandError

DEFAULT_SERVER = "http://127.0.0.1:8080"
KNOB_HELP = ("knobs: latency=S http_error=500|503 http_error_count=N errno7=N drop_after=N drop_every=1 "
             "stall=T stall_after=N stall_every=1 flip_offset=X ignore_range=1 wrong_content_range=1 "
             "short_body=K bandwidth=B chunked=1 cancel_at=X pause_at=X expire_token=1 "
             "dl_error=1..6 dl_error_count=N token_check_errno=4|7|12|17|20|21|22 token_check_errno_count=N; "
             "and any mode (see `admin modes --help`) for this device or task only")


def _modes_help():
    from ..sim.faults import MODES, mode_values

    return "modes (the first value is the default): " + "  ".join(
        "%s=%s" % (k, mode_values(k)) for k in MODES)


def add_arguments(p, name):
    p.add_argument("--server", default=DEFAULT_SERVER, help="simulator URL (default %s)" % DEFAULT_SERVER)
    p.add_argument("--json", action="store_true", help="print JSON")
    if name == "publish":
        p.add_argument("--file", required=True, help="the package (firmware image)")
        p.add_argument("--target", required=True, help="target version, e.g. V1.4")
        p.add_argument("--product-id", required=True)
        p.add_argument("--access-key", required=True, help="the product's access key (base64)")
        p.add_argument("--dev-id", required=True)
        p.add_argument("--type", type=int, choices=(1, 2), default=2, help="1 FOTA, 2 SOTA (default)")
        p.add_argument("--manuf", default="101")
        p.add_argument("--model", default="10101")
        p.add_argument("--retry", type=int, default=3)
        p.add_argument("--interval", type=int, default=60)
        p.add_argument("--signal", type=int, default=0)
        p.add_argument("--power", type=int, default=0)
        p.add_argument("--pkg-type", type=int, choices=(1, 2), default=1,
                       help="1 full package (default), 2 differential (answered as type 2 by check)")
        p.add_argument("--from-version", metavar="V", help="differential: the version it applies to "
                       "(a check from another version fails the task, errno 9)")
        p.add_argument("--replace", action="store_true", help="cancel the device's open task of this type")
        return
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=argparse.SUPPRESS, help="simulator URL")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    _add = sub.add_parser

    def add_parser(name, **kw):
        return _add(name, parents=[common], **kw)

    sub.add_parser = add_parser
    sub.add_parser("devices", help="list devices and their latest task")
    t = sub.add_parser("tasks", help="list tasks")
    t.add_argument("--dev-id")
    e = sub.add_parser("events", help="a device's event history")
    e.add_argument("--dev-id")
    e.add_argument("--task", type=int)
    for a in ("cancel", "pause", "resume", "expire"):
        x = sub.add_parser(a, help="%s a task" % a)
        x.add_argument("id", type=int, help="task id")
    f = sub.add_parser("fault", help="set, list or clear fault knobs", description=KNOB_HELP)
    g = f.add_mutually_exclusive_group()
    g.add_argument("--dev-id")
    g.add_argument("--task", type=int)
    f.add_argument("--clear", action="store_true", help="clear the knobs of the target (or all)")
    f.add_argument("knobs", nargs="*", metavar="KNOB=VALUE", help=KNOB_HELP)
    m = sub.add_parser("modes", help="show or set the global modes", description=_modes_help())
    m.add_argument("modes", nargs="*", metavar="MODE=VALUE", help=_modes_help())
    c = sub.add_parser("clock", help="show, set or advance the simulator clock")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--advance", type=float, metavar="S")
    g.add_argument("--set", type=float, metavar="UNIX")
    sub.add_parser("stats", help="connections, requests, bytes served")


def call(server, method, path, body=None, query=None, ctype="application/json", timeout=30):
    url = server.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read().decode() or "null")
    except urllib.error.HTTPError as e:
        try:
            msg = json.loads(e.read().decode()).get("error")
        except ValueError:
            msg = None
        raise CommandError("%s: %s" % (e.code, msg or e.reason))
    except urllib.error.URLError as e:
        raise CommandError("cannot reach the simulator at %s: %s (is `onenet-ota serve` running?)"
                           % (server, e.reason))
    except OSError as e:
        raise CommandError("cannot reach the simulator at %s: %s" % (server, e))


def _task_line(t):
    return "task %s  dev %s  type %s  %s  target %s  token %s  size %s  md5 %s  served %s" % (
        t["id"], t["dev_id"], t["type"], t["state"], t["target"], t["token"], t["size"], t["md5"],
        t.get("served"))


def run(args):
    if args.command == "publish":
        try:
            with open(args.file, "rb") as f:
                data = f.read()
        except OSError as e:
            raise CommandError("%s: %s" % (args.file, e.strerror or e), 2)
        q = {"target": args.target, "product_id": args.product_id, "access_key": args.access_key,
             "dev_id": args.dev_id, "type": args.type, "manuf": args.manuf, "model": args.model,
             "retry": args.retry, "interval": args.interval, "signal": args.signal, "power": args.power,
             "name": os.path.basename(args.file), "pkg_type": args.pkg_type}
        if args.from_version:
            q["from_version"] = args.from_version
        if args.replace:
            q["replace"] = 1
        t = call(args.server, "POST", "/admin/publish", data, q, "application/octet-stream")
        print(json.dumps(t, indent=2) if args.json else _task_line(t))
        return 0
    a = args.action
    if a == "devices":
        out = call(args.server, "GET", "/admin/devices")
        lines = ["%s  product %s  f_version %s  s_version %s  task %s" % (
            d["dev_id"], d["product_id"], d["f_version"], d["s_version"],
            "%s %s" % (d["task"]["id"], d["task"]["state"]) if d["task"] else "-") for d in out["devices"]]
    elif a == "tasks":
        out = call(args.server, "GET", "/admin/tasks", query={"dev_id": args.dev_id} if args.dev_id else None)
        lines = [_task_line(t) for t in out["tasks"]]
    elif a == "events":
        q = {}
        if args.dev_id:
            q["dev_id"] = args.dev_id
        if args.task is not None:
            q["task"] = args.task
        out = call(args.server, "GET", "/admin/events", query=q)
        lines = ["%d  %.3f  %s  task %s  %s  %s" % (e["id"], e["ts"], e["dev_id"], e["task_id"], e["kind"],
                                                  json.dumps(e["detail"], sort_keys=True)) for e in out["events"]]
    elif a in ("cancel", "pause", "resume", "expire"):
        out = call(args.server, "POST", "/admin/tasks/%d/%s" % (args.id, a))
        lines = [_task_line(out)]
    elif a == "fault":
        target = {"dev_id": args.dev_id} if args.dev_id else ({"task": args.task} if args.task is not None else {})
        if args.clear:
            out = call(args.server, "DELETE", "/admin/faults", query=target or None)
        elif args.knobs:
            if not target:
                raise CommandError("fault: --dev-id or --task", 2)
            body = dict(target)
            for kv in args.knobs:
                k, eq, v = kv.partition("=")
                body[k] = v if eq else "true"
            out = call(args.server, "POST", "/admin/faults", body)
        else:
            out = call(args.server, "GET", "/admin/faults")
        lines = [json.dumps(out, sort_keys=True)]
    elif a == "modes":
        body = {}
        for kv in args.modes:
            k, eq, v = kv.partition("=")
            if not eq:
                raise CommandError("modes: MODE=VALUE (%s)" % _modes_help(), 2)
            body[k] = v
        out = call(args.server, "POST" if body else "GET", "/admin/modes", body or None)
        lines = ["%s=%s" % (k, str(v).lower()) for k, v in sorted(out["modes"].items())]
    elif a == "clock":
        body = {"advance": args.advance} if args.advance is not None else (
            {"set": args.set} if args.set is not None else None)
        out = call(args.server, "POST" if body else "GET", "/admin/clock", body)
        lines = ["now %.3f" % out["now"]]
    else:  # stats
        out = call(args.server, "GET", "/admin/stats")
        lines = ["%s %s" % kv for kv in sorted(out.items())]
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        print("\n".join(lines) if lines else "(none)")
    return 0
