# onenet-ota publish / onenet-ota admin: talk to a running simulator's /admin API.
#
# The admin API needs the simulator's admin token (`serve` prints it and writes it to
# <state-dir>/admin-token, 0600). Taken from, first wins: --admin-token, the environment
# ONENET_ADMIN_TOKEN, and for a loopback --server the file in --state-dir (default
# ./state/sim, serve's default), so `serve` + `publish` from one directory need nothing.
import argparse
import http.client
import json
import os
import stat
import urllib.error
import urllib.parse
import urllib.request

from ..cli import CommandError, finite_float, int_range
from ..creds import shown

PLATFORMS = ("legacy", "fuse", "studio")  # docs/dialects.md; sim/admin_api.py takes them as `platform`
PLATFORM_HELP = ("the product's dialect (docs/dialects.md): legacy ota/south, fuse (fuse-ota) or studio; a "
                 "product keeps the platform it was made with (default: legacy for a new product)")
DEFAULT_SERVER = "http://127.0.0.1:8080"
DEFAULT_STATE = os.path.join(".", "state", "sim")
MAX_FILE = 256 * 1024 * 1024  # the simulator's MAX_UPLOAD
EPILOG = """\
admin token: --admin-token T, else $ONENET_ADMIN_TOKEN, else (loopback --server only)
the file <--state-dir>/admin-token that `onenet-ota serve` writes (default %s,
serve's default; 0600). `serve` prints the token and a page URL that carries it.
exit codes: 0 ok; 1 the simulator refused (HTTP 4xx, printed) or cannot be reached;
2 usage (bad value, no token, unreadable --file).""" % DEFAULT_STATE
KNOB_HELP = ("knobs: latency=S http_error=500|503 http_error_count=N errno7=N drop_after=N drop_every=1 "
             "stall=T stall_after=N stall_every=1 flip_offset=X ignore_range=1 wrong_content_range=1 "
             "short_body=K bandwidth=B chunked=1 cancel_at=X pause_at=X expire_token=1 "
             "dl_error=1..6 dl_error_count=N token_check_errno=4|7|12|17|20|21|22 token_check_errno_count=N; "
             "and any mode (see `admin modes --help`) for this device or task only")


def _modes_help():
    from ..sim.faults import MODES, mode_values

    return "modes (the first value is the default): " + "  ".join(
        "%s=%s" % (k, mode_values(k)) for k in MODES)


def _token_args(p, default):
    p.add_argument("--admin-token", metavar="T", default=default,
                   help="the simulator's admin token (env ONENET_ADMIN_TOKEN; see below)")
    p.add_argument("--state-dir", metavar="DIR", default=default,
                   help="a local simulator's state dir, for its admin-token file (default %s)" % DEFAULT_STATE)


def add_arguments(p, name):
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    p.add_argument("--server", default=DEFAULT_SERVER, help="simulator URL (default %s)" % DEFAULT_SERVER)
    p.add_argument("--local", action="store_true", help="the local simulator, %s: the default here (the "
                   "admin API is the simulator's; the platform has none)" % DEFAULT_SERVER)
    p.add_argument("--json", action="store_true", help="print JSON")
    _token_args(p, None)
    if name == "publish":
        p.add_argument("--file", required=True, help="the package (firmware image)")
        p.add_argument("--target", required=True, help="target version, e.g. V1.4")
        p.add_argument("--product-id", help="product id (env ONENET_PRODUCT_ID, or the config file)")
        p.add_argument("--access-key", help="the product's access key, base64 (env ONENET_ACCESS_KEY, or the "
                       "config file; never printed)")
        p.add_argument("--dev-id", help="device id (env ONENET_DEV_ID, or the config file)")
        p.add_argument("--config", metavar="FILE", help="JSON config, as the platform calls read it")
        p.add_argument("--type", type=int, choices=(1, 2), default=2, help="1 FOTA, 2 SOTA (default)")
        p.add_argument("--manuf", default="101")
        p.add_argument("--model", default="10101")
        p.add_argument("--retry", type=int_range(0, 1000), default=3)
        p.add_argument("--interval", type=int_range(0, 86400), default=60)
        p.add_argument("--signal", type=int_range(-1000, 1000), default=0)
        p.add_argument("--power", type=int_range(0, 100), default=0)
        p.add_argument("--pkg-type", type=int, choices=(1, 2), default=1,
                       help="1 full package (default), 2 differential (answered as type 2 by check)")
        p.add_argument("--from-version", metavar="V", help="differential: the version it applies to "
                       "(a check from another version fails the task, errno 9)")
        p.add_argument("--replace", action="store_true", help="cancel the device's open task of this type")
        p.add_argument("--platform", choices=PLATFORMS, help=PLATFORM_HELP + "; see `admin add-device` for "
                       "the keys a fuse or Studio device signs with")
        return
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=argparse.SUPPRESS, help="simulator URL")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    _token_args(common, argparse.SUPPRESS)
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    _add = sub.add_parser

    def add_parser(name, **kw):
        return _add(name, parents=[common], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                    **kw)

    sub.add_parser = add_parser
    sub.add_parser("devices", help="list devices and their latest task")
    d = sub.add_parser("add-device", help="create a device (and its product) of a platform: legacy, fuse, studio",
                       description="The keys a device signs with: legacy the product key (--access-key); fuse "
                       "by default the account's (--user-id, --user-key; docs/dialects.md); studio the "
                       "device's (--dev-key). Keys are never printed.")
    d.add_argument("--dev-id", help="device id, or the fuse/Studio device name (env ONENET_DEV_ID)")
    d.add_argument("--product-id", help="product id (env ONENET_PRODUCT_ID)")
    d.add_argument("--access-key", help="the product's access key, base64 (env ONENET_ACCESS_KEY)")
    d.add_argument("--platform", choices=PLATFORMS, help=PLATFORM_HELP)
    d.add_argument("--user-id", help="fuse: the account's id (user-level tokens)")
    d.add_argument("--user-key", help="fuse: the account's access key, base64 (user-level tokens)")
    d.add_argument("--dev-key", help="the device's own key, base64 (device-level tokens: Studio's default)")
    d.add_argument("--f-version", help="the firmware version the device reports")
    d.add_argument("--s-version", help="the software version the device reports")
    t = sub.add_parser("tasks", help="list tasks")
    t.add_argument("--dev-id")
    e = sub.add_parser("events", help="a device's event history")
    e.add_argument("--dev-id")
    e.add_argument("--task", type=int_range(1, 2 ** 62))
    for a in ("cancel", "pause", "resume", "expire"):
        x = sub.add_parser(a, help="%s a task" % a)
        x.add_argument("id", type=int_range(1, 2 ** 62), help="task id")
    f = sub.add_parser("fault", help="set, list or clear fault knobs", description=KNOB_HELP)
    g = f.add_mutually_exclusive_group()
    g.add_argument("--dev-id")
    g.add_argument("--task", type=int_range(1, 2 ** 62))
    f.add_argument("--clear", action="store_true", help="clear the knobs of the target (or all)")
    f.add_argument("knobs", nargs="*", metavar="KNOB=VALUE", help=KNOB_HELP)
    m = sub.add_parser("modes", help="show or set the global modes", description=_modes_help())
    m.add_argument("modes", nargs="*", metavar="MODE=VALUE", help=_modes_help())
    c = sub.add_parser("clock", help="show, set or advance the simulator clock")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--advance", type=finite_float(-1e10, 1e10), metavar="S")
    g.add_argument("--set", type=finite_float(0, 1e10), metavar="UNIX")
    sub.add_parser("stats", help="connections, requests, bytes served")


def publish_arguments(p):
    add_arguments(p, "publish")


def admin_arguments(p):
    add_arguments(p, "admin")


def check_server(url):
    """--server: http(s)://host[:port], nothing else (urllib's own errors would quote the
    whole request URL). -> (url without a trailing slash, host)."""
    try:
        u = urllib.parse.urlsplit(url.strip())
        port = u.port
    except ValueError:
        u, port = None, None
    if (u is None or u.scheme not in ("http", "https") or not u.hostname or u.username or u.password
            or u.query or u.fragment or u.path not in ("", "/") or any(c in url for c in " \t\r\n")):
        raise CommandError("--server %s: give http://HOST[:PORT] (or https://)" % shown(url), 2)
    if port == 0:
        raise CommandError("--server %s: bad port" % shown(url), 2)
    return url.strip().rstrip("/"), u.hostname


def _loopback(host):
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def admin_token(args, host):
    """--admin-token > $ONENET_ADMIN_TOKEN > <state-dir>/admin-token (loopback only)."""
    tok = getattr(args, "admin_token", None) or os.environ.get("ONENET_ADMIN_TOKEN")
    if tok:
        return tok.strip()
    state = getattr(args, "state_dir", None) or DEFAULT_STATE
    path = os.path.join(state, "admin-token")
    if _loopback(host):
        try:
            with open(path, encoding="ascii", errors="replace") as f:
                tok = f.read(256).strip()
        except OSError:
            tok = None
        if tok:
            return tok
    raise CommandError("no admin token: give --admin-token or ONENET_ADMIN_TOKEN%s (`onenet-ota serve` "
                       "prints it)" % (", or --state-dir of the running serve (no %s)" % path
                                       if _loopback(host) else ""), 2)


class Admin:
    """The admin API of one simulator: URL checked and token found once."""

    def __init__(self, args):
        self.server, host = check_server(args.server)
        self.token = admin_token(args, host)

    def __call__(self, method, path, body=None, query=None, ctype="application/json", timeout=30, headers=()):
        return call(self.server, method, path, body, query, ctype, timeout, self.token, headers)


def call(server, method, path, body=None, query=None, ctype="application/json", timeout=30, token=None,
         headers=()):
    # Every failure is one CommandError naming the server, never the request URL (a
    # query may carry an id the user did not mean to print) nor the token.
    url = server.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in headers:
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read(64 << 20).decode() or "null")
    except urllib.error.HTTPError as e:
        try:
            msg = json.loads(e.read(65536).decode()).get("error")
        except (ValueError, AttributeError, OSError, http.client.HTTPException):
            msg = None
        raise CommandError("%s: %s" % (e.code, str(msg or e.reason)[:300]))
    except urllib.error.URLError as e:
        raise CommandError("cannot reach the simulator at %s: %s (is `onenet-ota serve` running?)"
                           % (server, getattr(e.reason, "strerror", None) or e.reason))
    except (OSError, http.client.HTTPException) as e:
        raise CommandError("cannot reach the simulator at %s: %s" % (server, type(e).__name__))
    except ValueError:
        raise CommandError("the simulator at %s sent an answer that is not JSON" % server)


def _task_line(t):
    return "task %s  dev %s  type %s  %s  target %s  token %s  size %s  md5 %s  served %s" % (
        t["id"], t["dev_id"], t["type"], t["state"], t["target"], t["token"], t["size"], t["md5"],
        t.get("served") or 0)


def _read_package(path):
    # A regular file of at most MAX_FILE bytes: /dev/zero or a FIFO would never end.
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before open(): a FIFO would block there
            raise CommandError("--file %s: not a regular file" % path, 2)
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise CommandError("--file %s: not a regular file" % path, 2)
            if st.st_size > MAX_FILE:
                raise CommandError("--file %s: %d bytes, more than the simulator takes (%d)"
                                   % (path, st.st_size, MAX_FILE), 2)
            return f.read(MAX_FILE + 1)
    except OSError as e:
        raise CommandError("--file %s: %s" % (path, e.strerror or type(e).__name__), 2)


def _publish_creds(args):
    # Product, key and device as the platform calls take them: flag > ONENET_* > config.
    from .token import creds_of

    c = creds_of(args)
    missing = [f for f, v in (("--product-id", c.product_id), ("--access-key", c._key), ("--dev-id", c.dev_id))
               if not v]
    if missing:
        raise CommandError("publish needs %s (or ONENET_PRODUCT_ID, ONENET_ACCESS_KEY, ONENET_DEV_ID)"
                           % ", ".join(missing), 2)
    args.product_id, args.access_key, args.dev_id = c.product_id, c._key, c.dev_id


def _device_body(args):
    # POST /admin/devices (sim/admin_api.py): ids and product key as publish takes them
    # (flag > ONENET_* > nothing: no config file here), the dialect's fields as given.
    env = os.environ.get
    body = {"dev_id": args.dev_id or env("ONENET_DEV_ID"), "product_id": args.product_id or env("ONENET_PRODUCT_ID"),
            "access_key": args.access_key or env("ONENET_ACCESS_KEY")}
    missing = [f for f, k in (("--dev-id", "dev_id"), ("--product-id", "product_id"), ("--access-key", "access_key"))
               if not body[k]]
    if missing:
        raise CommandError("add-device needs %s (or ONENET_DEV_ID, ONENET_PRODUCT_ID, ONENET_ACCESS_KEY)"
                           % ", ".join(missing), 2)
    if (args.user_id is None) != (args.user_key is None):
        raise CommandError("add-device: --user-id and --user-key go together", 2)
    for k in ("platform", "user_id", "user_key", "dev_key", "f_version", "s_version"):
        if getattr(args, k) is not None:
            body[k] = getattr(args, k)
    return body


def run(args):
    if getattr(args, "local", False):
        args.server = DEFAULT_SERVER
    check_server(args.server)
    data = _read_package(args.file) if args.command == "publish" else None
    call = Admin(args)
    if args.command == "publish":
        _publish_creds(args)
        from .board import check_target, embedded_version

        check_target(embedded_version(data), args.target, "--file %s" % args.file)
        if len(data) > 65536:
            call("GET", "/admin/clock")  # a refused token is said before the upload, not as a reset
        q = {"target": args.target, "product_id": args.product_id,
             "dev_id": args.dev_id, "type": args.type, "manuf": args.manuf, "model": args.model,
             "retry": args.retry, "interval": args.interval, "signal": args.signal, "power": args.power,
             "name": os.path.basename(args.file), "pkg_type": args.pkg_type}
        if args.from_version:
            q["from_version"] = args.from_version
        if args.replace:
            q["replace"] = 1
        if args.platform:
            q["platform"] = args.platform
        t = call("POST", "/admin/publish", data, q, "application/octet-stream",
                 headers=[("X-Access-Key", args.access_key)])
        print(json.dumps(t, indent=2) if args.json else _task_line(t))
        return 0
    a = args.action
    if a == "devices":
        out = call("GET", "/admin/devices")
        lines = ["%s  product %s  platform %s  f_version %s  s_version %s  task %s" % (
            d["dev_id"], d["product_id"], d.get("platform") or "legacy", d["f_version"] or "-", d["s_version"] or "-",
            "%s %s" % (d["task"]["id"], d["task"]["state"]) if d.get("task") else "-") for d in out["devices"]]
    elif a == "add-device":
        out = call("POST", "/admin/devices", _device_body(args))
        lines = ["%s  product %s  platform %s  device key %s" % (
            out["dev_id"], out["product_id"], out.get("platform") or "legacy", "yes" if out.get("has_key") else "no")]
    elif a == "tasks":
        out = call("GET", "/admin/tasks", query={"dev_id": args.dev_id} if args.dev_id else None)
        lines = [_task_line(t) for t in out["tasks"]]
    elif a == "events":
        q = {}
        if args.dev_id:
            q["dev_id"] = args.dev_id
        if args.task is not None:
            q["task"] = args.task
        out = call("GET", "/admin/events", query=q)
        lines = ["%d  %.3f  %s  task %s  %s  %s" % (e["id"], e["ts"], e["dev_id"], e["task_id"] or "-", e["kind"],
                                                  json.dumps(e["detail"], sort_keys=True)) for e in out["events"]]
    elif a in ("cancel", "pause", "resume", "expire"):
        out = call("POST", "/admin/tasks/%d/%s" % (args.id, a))
        lines = [_task_line(out)]
    elif a == "fault":
        target = {"dev_id": args.dev_id} if args.dev_id else ({"task": args.task} if args.task is not None else {})
        if args.clear:
            out = call("DELETE", "/admin/faults", query=target or None)
        elif args.knobs:
            if not target:
                raise CommandError("fault: --dev-id or --task", 2)
            body = dict(target)
            for kv in args.knobs:
                k, eq, v = kv.partition("=")
                body[k] = v if eq else "true"
            out = call("POST", "/admin/faults", body)
        else:
            out = call("GET", "/admin/faults")
        lines = [json.dumps(out, sort_keys=True)]
    elif a == "modes":
        body = {}
        for kv in args.modes:
            k, eq, v = kv.partition("=")
            if not eq:
                raise CommandError("modes: MODE=VALUE (%s)" % _modes_help(), 2)
            body[k] = v
        out = call("POST" if body else "GET", "/admin/modes", body or None)
        lines = ["%s=%s" % (k, str(v).lower()) for k, v in sorted(out["modes"].items())]
    elif a == "clock":
        body = {"advance": args.advance} if args.advance is not None else (
            {"set": args.set} if args.set is not None else None)
        out = call("POST" if body else "GET", "/admin/clock", body)
        lines = ["now %.3f" % out["now"]]
    else:  # stats
        out = call("GET", "/admin/stats")
        lines = ["%s %s" % kv for kv in sorted(out.items())]
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        print("\n".join(lines) if lines else "(none)")
    return 0
