# One subcommand per OneNET OTA platform call, for a developer who would otherwise type
# raw HTTP into a TCP debugging assistant (shared/seeds/, the platform's "API调试-网络调试助手").
#
# The calls go through the firmware's own code (onenet_ota.api.Api over onenet_ota.http
# .Client over onenet_ota.transport.SocketTransport), so what this tool sends is what a
# device sends. `--raw` wraps the transport in a recorder and prints the exact bytes
# (the Authorization's sign masked unless --show-secrets; the access key never goes on
# the wire and is never printed). Errors are mapped to exit codes (EXIT_CODES below).
import argparse
import hashlib
import json
import os
import re
import stat
import sys

from onenet_ota import api as fw_api
from onenet_ota.errors import ConfigError, NetError, OtaError, PlatformError, ProtocolError, Timeout
from onenet_ota.http import Client
from onenet_ota.transport import SocketTransport

from .. import creds as C
from .. import errnos
from ..cli import CommandError, finite_float, int_range

EXIT_OK, EXIT_PROTOCOL, EXIT_USAGE, EXIT_PLATFORM, EXIT_NETWORK, EXIT_MD5, EXIT_FILE = 0, 1, 2, 3, 4, 5, 6
EXIT_CODES = """\
exit codes: 0 ok; 1 unexpected answer (HTTP status, malformed JSON, bad Content-Range);
2 usage or configuration error (missing credentials, bad value, -o not a regular file);
3 platform errno (printed as "errno N: English / 中文") or a refused download (the
one-byte answers); 4 network error (resolve, connect, reset, time-out, HTTP 5xx);
5 MD5 mismatch; 6 the output file cannot be written (disk full, I/O error)."""

CHIPS = {  # contract section 3 (SOTA codes; the seed's vendor column is swapped)
    "esp32": ("101", "10101"),
    "nrf52832": ("102", "10201"),
    "gd32": ("103", "10301"),
    "other": ("100", "10001"),
}
_RANGE_RE = re.compile(r"^(\d*)-(\d*)$")
_CHUNK = 32768

EPILOGS = {
    "report-version": """\
example (the seed's "上报版本"):
  onenet-ota report-version --local --s-version V1.3

POST /ota/device/version?dev_id=… with {"s_version": …} and/or {"f_version": …}.
Reporting a version equal to a task's target completes that task.""",
    "query-version": """\
example:
  onenet-ota query-version --local --json""",
    "check": """\
example (the seed's "检测任务"):
  onenet-ota check --local --type 2 --version V1.3 --chip esp32 --no-cdn

--chip sets --manuf/--model: esp32 101/10101, nrf52832 102/10201, gd32 103/10301,
other 100/10001. For FOTA (--type 1) give the module's codes, e.g. M5311
--manuf 001 --model 00108. A task whose manuf/model differ is failed by the
platform (errno 8): double-check them before calling check on a real task.""",
    "token-check": """\
example:
  onenet-ota token-check --local ota_JcWgqjwXigKAfRayjjUW

Moves a pending task to downloading (progress steps are only accepted while
downloading). Without TOKEN, the token is taken from a check (give the check options).""",
    "tasking": """\
example:
  onenet-ota tasking --local --type 2

GET /ota/south/tasking?dev_id=&type=[&cdn=] (the platform's "get the token of a task
being upgraded"): the one task of this type that is downloading or upgrading, with the
fields of a check answer. errno 4: no such task (none, pending, paused or ended) or its
token expired; 12: token expired, the upgrade flow has ended.""",
    "download": """\
examples (the seed's "下载固件"):
  onenet-ota download --local --token ota_JcWgqjwXigKAfRayjjUW --range 0-5 --raw
  onenet-ota download --local --version V1.3 --chip esp32 -o fw.bin

--range SPEC sends one request with "Range: bytes=SPEC" (start-end, start- or -n)
and prints a hex dump (or writes -o FILE). Without --range the whole package is
fetched in ranges of --chunk bytes into FILE.part; an existing FILE.part is
continued from its size (so rerunning an interrupted download resumes it). When
complete, the MD5 is checked against --md5 or the task's md5 (from check): on a
match FILE.part becomes FILE; on a mismatch FILE.part is deleted (its bytes are
wrong, resuming from it cannot help; --keep-part keeps it) and the exit code is 5.
Without --token the token, size and md5 come from a check (give its options).
The download itself carries no Authorization (the token authorizes it).""",
    "report": """\
examples (the seed's "上报状态"):
  onenet-ota report --local --token ota_3lI1NIMLB6E4u260cLRd --step 54
  onenet-ota report --local --token ota_3lI1NIMLB6E4u260cLRd --result succeeded
  onenet-ota report --local --token … --result 205 --old-form

--step 0..100 is download progress (only while the task is downloading; 100 moves it
to upgrading). --result CODE reports a result, by number or by name:
%s
Every code but 101 and 201 fails the task. --old-form uses the older
POST /ota/south/report?dev_id=&token= with {"result": N}.""" % errnos.results_table(),
}


# -- recording transport (--raw) --------------------------------------------------------
class Recorder:
    """Every byte written and read, in order, over all connections of one command."""

    def __init__(self):
        self.events = []  # ("tx" | "rx", bytes)

    def add(self, kind, data):
        if data:
            self.events.append((kind, bytes(data)))

    def exchanges(self):
        out = []
        for kind, data in self.events:
            if kind == "tx" and (not out or out[-1][1]):
                out.append([bytearray(), bytearray()])
            elif not out:
                out.append([bytearray(), bytearray()])
            out[-1][0 if kind == "tx" else 1] += data
        return [(bytes(a), bytes(b)) for a, b in out]

    def render(self, show_secrets=False, secret=None):
        parts = []
        for req, resp in self.exchanges():
            parts.append(_render_message(req, show_secrets))
            parts.append("")
            parts.append(_render_message(resp, True) if resp else "(no answer)")
        text = "\n".join(parts)
        if secret:
            text = text.replace(secret, "***")
        return text


class RecordingTransport:
    def __init__(self, t, rec):
        self.t = t
        self.rec = rec

    def write(self, buf, n):
        self.rec.add("tx", memoryview(buf)[:n])
        return self.t.write(buf, n)

    def readinto(self, buf, n):
        r = self.t.readinto(buf, n)
        if r:
            self.rec.add("rx", memoryview(buf)[:r])
        return r

    def read_exact(self, buf, n):
        r = self.t.read_exact(buf, n)
        self.rec.add("rx", memoryview(buf)[:n])
        return r

    def close(self):
        self.t.close()


_SIGN_RE = re.compile(r"(?im)^(authorization:[^\n]*?\bsign=)[^&\r\n]*")


def _render_body(b):
    if not b:
        return ""
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        s = None
    if s is not None and all(ch in "\r\n\t" or (ch >= " " and ch != "\x7f") for ch in s):
        return s.replace("\r\n", "\n")
    head = " ".join("%02x" % x for x in b[:32])
    return "[%d bytes of binary data: %s%s]" % (len(b), head, " …" if len(b) > 32 else "")


def _render_message(data, show_secrets):
    # Head as text (CRLF shown as line ends), a blank line, then the body.
    i = data.find(b"\r\n\r\n")
    head, body = (data, b"") if i < 0 else (data[:i], data[i + 4:])
    text = head.decode("latin-1").replace("\r\n", "\n")
    if not show_secrets:
        text = _SIGN_RE.sub(r"\1***", text)
    if i < 0:
        return text
    return text + "\n\n" + _render_body(body)


# -- arguments --------------------------------------------------------------------------
def _hex_dump(data, base=0):
    lines = []
    for off in range(0, len(data), 16):
        row = data[off:off + 16]
        hx = " ".join("%02x" % x for x in row)
        asc = "".join(chr(x) if 32 <= x < 127 else "." for x in row)
        lines.append("%08x  %-47s  |%s|" % (base + off, hx, asc))
    return "\n".join(lines)


def _check_options(p, required):
    g = p.add_argument_group("check options" if required else
                             "task lookup (only used without --token: a check is made first)")
    g.add_argument("--type", type=int, choices=(1, 2), default=2,
                   help="1 = FOTA (module firmware), 2 = SOTA (application on the MCU; default)")
    g.add_argument("--version", metavar="V", help="the device's current version, 1-20 of [A-Za-z0-9_.-]"
                   + (" (required)" if required else ""))
    g.add_argument("--chip", choices=sorted(CHIPS), help="sets --manuf/--model for a SOTA chip")
    g.add_argument("--manuf", metavar="CODE", help="manufacturer code, e.g. 101 (ESP32)")
    g.add_argument("--model", metavar="CODE", help="chip/module code, e.g. 10101 (ESP32)")
    g.add_argument("--cdn", action=argparse.BooleanOptionalAction, default=True,
                   help="cdn=true: the device resolves DNS (default); --no-cdn asks for ipPort")
    g.add_argument("--signals", type=int_range(-1000, 1000), metavar="N", help="signal strength to send")
    g.add_argument("--powers", type=int_range(0, 100), metavar="PCT", help="battery level in percent to send")


def add_arguments(p, name):
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOGS[name] + "\n\n" + C.PRECEDENCE_HELP + "\n\n" + EXIT_CODES

    if name == "report-version":
        p.add_argument("--s-version", metavar="V", help="application (MCU) version, e.g. V1.3")
        p.add_argument("--f-version", metavar="V", help="module firmware version")
    elif name == "check":
        _check_options(p, True)
    elif name == "token-check":
        p.add_argument("token", nargs="?", metavar="TOKEN", help="the download token (default: from a check)")
        _check_options(p, False)
    elif name == "tasking":
        p.add_argument("--type", type=int, choices=(1, 2), default=2,
                       help="1 = FOTA, 2 = SOTA (default; the platform requires it)")
        p.add_argument("--cdn", action=argparse.BooleanOptionalAction, default=None,
                       help="send cdn=true / cdn=false (default: not sent; it only asks for ipPort)")
    elif name == "download":
        p.add_argument("--token", help="the download token (default: from a check)")
        p.add_argument("--range", metavar="SPEC", dest="range_spec",
                       help="one request for bytes SPEC: START-END, START- or -N (e.g. 0-5)")
        p.add_argument("-o", "--output", metavar="FILE",
                       help="write here (whole file default: TOKEN.bin; a --range without -o is hex-dumped)")
        p.add_argument("--md5", metavar="HEX", help="expected MD5 (default: the task's, from check)")
        p.add_argument("--size", type=int_range(1, 1 << 40), metavar="BYTES", help="package size, if known "
                       "(default: from check or the first answer's Content-Range)")
        p.add_argument("--chunk", type=int_range(2, 1 << 26), default=_CHUNK, metavar="BYTES",
                       help="bytes per ranged request (default %d; the platform wants >= 2)" % _CHUNK)
        p.add_argument("--keep-part", action="store_true", help="keep FILE.part on an MD5 mismatch")
        p.add_argument("--no-progress", action="store_true", help="no progress bar (there is none "
                       "unless stderr is a terminal)")
        _check_options(p, False)
    elif name == "report":
        p.add_argument("--token", help="the task's token (default: from a check)")
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument("--step", type=int, metavar="N", help="download progress 0..100")
        g.add_argument("--result", metavar="CODE", help="result code: a number > 100 or a name (below)")
        p.add_argument("--old-form", action="store_true",
                       help='use POST /ota/south/report?dev_id=&token= {"result": N} (with --result)')
        _check_options(p, False)

    g = p.add_argument_group("server and credentials (flag > environment > config file)")
    s = g.add_mutually_exclusive_group()
    s.add_argument("--server", metavar="URL", help="http://host[:port] or https://… (env ONENET_SERVER; "
                   "default %s)" % C.PRODUCTION)
    s.add_argument("--local", action="store_true", help="the local simulator: --server %s" % C.LOCAL)
    g.add_argument("--product-id", metavar="ID", help="product id (env ONENET_PRODUCT_ID)")
    g.add_argument("--access-key", metavar="KEY", help="the product's access key, base64 (env ONENET_ACCESS_KEY; "
                   "never printed)")
    g.add_argument("--dev-id", metavar="ID", help="device id (env ONENET_DEV_ID)")
    g.add_argument("--authorization", metavar="VALUE", help="a ready Authorization value (e.g. from "
                   "`onenet-ota token`) instead of product id + key (env ONENET_AUTHORIZATION)")
    g.add_argument("--method", choices=("md5", "sha1", "sha256"), default="sha1",
                   help="HMAC for the computed Authorization (default sha1)")
    g.add_argument("--et", type=int_range(0, 10 ** 11), metavar="UNIX", help="expiry of the computed Authorization "
                   "(default: now + %d s)" % C.DEFAULT_TTL)
    g.add_argument("--config", metavar="FILE", help="JSON config (default %s if it exists)"
                   % "~/.config/onenet-ota/config.json")
    g.add_argument("--timeout", type=finite_float(0, 3600, strict_lo=True), default=10.0, metavar="S",
                   help="network time-out (default 10 s)")
    g.add_argument("--ca", metavar="PEM", help="CA file to verify an https server (without it, https is "
                   "not verified)")
    o = p.add_argument_group("output")
    o.add_argument("--raw", action="store_true", help="print the exact request and answer bytes (to stderr "
                   "with --json); the Authorization's sign= is shown as ***")
    o.add_argument("--show-secrets", action="store_true", help="with --raw, show sign= unmasked (the "
                   "access key itself is never sent nor shown)")
    o.add_argument("--json", action="store_true", help="print one JSON object on stdout")


# -- session ----------------------------------------------------------------------------
class Session:
    def __init__(self, args):
        self.args = args
        flags = {
            "server": C.LOCAL if args.local else args.server,
            "product_id": args.product_id,
            "access_key": args.access_key,
            "dev_id": args.dev_id,
            "authorization": args.authorization,
        }
        self.creds = C.resolve(flags, config=args.config)
        self.server = self.creds.server
        host, port, tls = C.parse_server(self.server)
        self.rec = Recorder() if args.raw else None
        self._tls, self._ca = tls, args.ca
        self.client = Client(host, port, connect=self._connect, timeout_ms=int(args.timeout * 1000),
                             tls=tls, ca=args.ca)
        self._api = None
        self.lines = []

    def _connect(self, host, port, timeout_ms):
        t = SocketTransport(host, port, timeout_ms, None, self._tls, self._ca)
        return RecordingTransport(t, self.rec) if self.rec is not None else t

    def dev_id(self, required=True):
        if not self.creds.dev_id and required:
            raise C.CredsError("no device: give --dev-id (or ONENET_DEV_ID, or dev_id in the config file)")
        return self.creds.dev_id

    def api(self, auth=True):
        if self._api is None or (auth and not self._api_auth):
            a = self.args
            value = self.creds.authorization(a.method, a.et) if auth else ""
            self._api = fw_api.Api(self.client, self.dev_id(auth) or "0", value, 64 * 1024)
            self._api_auth = auth
        return self._api

    def out(self, text):
        # Human output, printed after the --raw exchanges (see close).
        if not self.args.json:
            self.lines.append(text)

    def close(self):
        try:
            self.client.close()
        except OtaError:
            pass
        if self.rec is not None and self.rec.events:
            stream = sys.stderr if self.args.json else sys.stdout
            print(self.rec.render(self.args.show_secrets, self.creds._key), file=stream)
            stream.flush()
            if self.lines:
                print("")
        for line in self.lines:
            print(line)


def _platform_message(e, call):
    msg = errnos.describe(e.errno, call)
    # The server's own text, when it says more than the documented meaning.
    if e.msg and e.errno < 1000 and not set(re.findall(r"\w+", e.msg.lower())) <= set(
            re.findall(r"\w+", msg.lower())):
        msg += ' (server: "%s")' % e.msg
    return msg


def _to_command_error(e, call=None, hint=""):
    """An exception of the firmware's layers -> (CommandError, JSON error fields)."""
    if isinstance(e, PlatformError):
        en, zh = errnos.meaning(e.errno, call)
        return CommandError(_platform_message(e, call) + hint, EXIT_PLATFORM), {
            "errno": e.errno, "error": en, "error_zh": zh, "server_error": e.msg}
    if isinstance(e, Timeout):
        return CommandError("network: %s (server %s)%s" % (e, _SERVER[0], hint), EXIT_NETWORK), {
            "error": "timeout: %s" % e}
    if isinstance(e, NetError):
        return CommandError("network: %s (server %s)%s" % (e, _SERVER[0], hint), EXIT_NETWORK), {
            "error": "network: %s" % e}
    if isinstance(e, (ConfigError, C.CredsError)):
        return CommandError(str(e), EXIT_USAGE), {"error": str(e)}
    if isinstance(e, ProtocolError):
        return CommandError("unexpected answer: %s%s" % (e, hint), EXIT_PROTOCOL), {
            "error": "protocol: %s" % e}
    raise e


_SERVER = ["?"]


def run(args):
    name = args.command
    s = None
    try:
        try:
            s = Session(args)
            _SERVER[0] = s.server
            result = HANDLERS[name](s, args)
        except CommandError as e:
            if not getattr(e, "json_done", False):
                _json_error(args, e, {"error": str(e)})
            raise
        except (OtaError, C.CredsError) as e:
            call = "report-old" if name == "report" and getattr(args, "old_form", False) else name
            ce, fields = _to_command_error(e, call, getattr(e, "hint", ""))
            _json_error(args, ce, fields)
            raise ce
    finally:
        if s is not None:
            s.close()
    if args.json:
        result = dict({"ok": True, "command": name, "server": s.server}, **result)
        print(json.dumps(result, ensure_ascii=False, indent=1))
    return result.get("exit", 0)


def _json_error(args, ce, fields):
    ce.json_done = True
    if args.json:
        print(json.dumps(dict({"ok": False, "command": args.command, "exit": ce.code}, **fields),
                         ensure_ascii=False, indent=1))


# -- handlers ---------------------------------------------------------------------------
def _report_version(s, a):
    if a.s_version is None and a.f_version is None:
        raise CommandError("nothing to report: give --s-version and/or --f-version", EXIT_USAGE)
    s.api().report_version(a.s_version, a.f_version)
    what = " ".join("%s=%s" % (k, v) for k, v in (("s_version", a.s_version), ("f_version", a.f_version)) if v)
    s.out("reported %s (dev_id %s): errno 0 succ / 成功" % (what, s.dev_id()))
    return {"errno": 0, "dev_id": s.dev_id(), "s_version": a.s_version, "f_version": a.f_version}


def _query_version(s, a):
    data = s.api().query_version() or {}
    s.out("dev_id %s\nf_version: %s\ns_version: %s" % (s.dev_id(), data.get("f_version"), data.get("s_version")))
    return {"errno": 0, "dev_id": s.dev_id(), "data": data}


def _manuf_model(a):
    manuf, model = a.manuf, a.model
    if a.chip:
        cm, cd = CHIPS[a.chip]
        manuf, model = manuf or cm, model or cd
    if not manuf or not model:
        raise CommandError("check needs --manuf and --model (or --chip esp32|nrf52832|gd32|other)", EXIT_USAGE)
    return manuf, model


def _do_check(s, a):
    if not a.version:
        raise CommandError("check needs --version (the device's current version)", EXIT_USAGE)
    manuf, model = _manuf_model(a)
    task = s.api().check(a.type, a.version, manuf, model, a.cdn, a.signals, a.powers)
    task["ipPort"] = _fmt_ipport(task.get("ipPort"))
    return task


def _fmt_ipport(v):
    # The validated ipPort: (host, port), (host, 0 or None) for the documented form
    # without a port, or a string -> "host[:port]" (None when absent, as the captures).
    if not v:
        return None
    if isinstance(v, (tuple, list)):
        return v[0] if len(v) < 2 or not v[1] else "%s:%s" % (v[0], v[1])
    return str(v)


_TASK_FIELDS = ("target", "token", "size", "md5", "type", "signal", "power", "retry", "interval", "ipPort")


def _check(s, a):
    task = _do_check(s, a)
    lines = ["task for dev_id %s (type %d %s):" % (s.dev_id(), a.type, "FOTA" if a.type == 1 else "SOTA")]
    for k in _TASK_FIELDS:
        v = task.get(k)
        if k == "type":
            v = "%s (%s package)" % (v, "full" if v == 1 else "differential")
        lines.append("  %-9s %s" % (k, "-" if v is None else v))
    s.out("\n".join(lines))
    return {"errno": 0, "dev_id": s.dev_id(), "task": task}


def _token_of(s, a):
    """--token / TOKEN, else a check -> (token, task or None)."""
    tok = getattr(a, "token", None)
    if tok:
        _valid_token(tok)  # a usage error (2), before anything is sent
        return tok, None
    if not a.version:
        raise CommandError("give --token, or the check options (--version and --chip or --manuf/--model) "
                           "to look it up", EXIT_USAGE)
    task = _do_check(s, a)
    return task["token"], task


def _token_check(s, a):
    tok, _ = _token_of(s, a)
    s.api().check_token(tok)
    s.out("token %s: valid (errno 0); a pending task is now downloading" % tok)
    return {"errno": 0, "dev_id": s.dev_id(), "token": tok}


def _tasking(s, a):
    # The documented shape (section 10): data is one task, the fields of a check answer.
    # Called through the firmware's Api._call (not Api.tasking) so this command keeps the
    # platform's shape whatever the device side makes of it.
    api = s.api()
    q = api._q("/ota/south/tasking") + "&type=%d" % a.type
    if a.cdn is not None:
        q += "&cdn=" + ("true" if a.cdn else "false")
    data = api._call("GET", q)
    if not isinstance(data, dict):
        raise ProtocolError("tasking answer without a task")
    lines = ["task being upgraded for dev_id %s (type %d %s):" % (s.dev_id(), a.type,
                                                                   "FOTA" if a.type == 1 else "SOTA")]
    for k in _TASK_FIELDS:
        v = data.get(k)
        if k == "type" and v is not None:
            v = "%s (%s package)" % (v, "full" if v == 1 else "differential")
        lines.append("  %-9s %s" % (k, "-" if v is None else v))
    s.out("\n".join(lines))
    return {"errno": 0, "dev_id": s.dev_id(), "task": data}


def _report(s, a):
    if a.step is not None:
        if a.old_form:
            raise CommandError("--old-form reports a --result, not a --step", EXIT_USAGE)
        if not 0 <= a.step <= 100:
            raise CommandError("--step is progress 0..100 (result codes go with --result)", EXIT_USAGE)
        value = a.step
    else:
        try:
            value = errnos.result_code(a.result)
        except ValueError as e:
            raise CommandError(str(e), EXIT_USAGE)
        if value not in errnos.RESULTS:
            print("warning: %d is not a documented result code; the platform should answer errno 2" % value,
                  file=sys.stderr)
    tok, _ = _token_of(s, a)
    api = s.api()
    if a.old_form:
        api.report_result_old(tok, value)
    else:
        api.report(tok, value)
    if a.step is not None:
        what = "step %d" % value
        s.out("reported step %d (download progress) for %s: errno 0 succ / 成功" % (value, tok))
    else:
        what = errnos.result_text(value)
        s.out("reported result %s for %s: errno 0 succ / 成功" % (what, tok))
    out = {"errno": 0, "dev_id": s.dev_id(), "token": tok, "form": "old" if a.old_form else "progress"}
    if a.step is not None:
        out["step"] = value
    else:
        r = errnos.RESULTS.get(value)
        out.update(result=value, result_name=r[0] if r else None, meaning=r[1] if r else None,
                   meaning_zh=r[2] if r else None)
    return out


# -- download ---------------------------------------------------------------------------
def _valid_token(tok):
    return fw_api._chars(tok, fw_api._TCHARS, 1, 64, "token", ConfigError)


def _refusal(c):
    # An answer without Content-Length: the platform's one-byte error, else a protocol error.
    buf = bytearray(16)
    try:
        n = c.read_body(buf)
    except ProtocolError:
        raise ProtocolError("download without Content-Length")
    # Section 10: codes 1-6, as an ASCII digit or as the raw byte value.
    if n == 1 and (1 <= buf[0] <= 6 or 49 <= buf[0] <= 54):
        raise PlatformError(1000 + (buf[0] - 48 if buf[0] >= 49 else buf[0]), "download refused")
    raise ProtocolError("download without Content-Length")


def _answer_head(c, st):
    """After a ranged GET: refusal / HTTP errors raised; -> body length (or -1: chunked)."""
    if c.length < 0 and not c.chunked:
        _refusal(c)
    if st not in (200, 206):
        c.drain()
        if st >= 500:
            raise NetError("HTTP %d" % st)
        raise ProtocolError("HTTP %d" % st)
    return c.length if not c.chunked else -1


def _range_download(s, a, tok):
    m = _RANGE_RE.match(a.range_spec.strip())
    if not m or a.range_spec.strip() == "-":
        raise CommandError("--range: START-END, START- or -N (e.g. 0-5)", EXIT_USAGE)
    c = s.client
    st = c.request("GET", "/ota/south/download/" + tok, (("Range", "bytes=" + a.range_spec.strip()),))
    n = _answer_head(c, st)
    if n < 0:
        buf = bytearray(1 << 24)
        n = c.read_body(buf)
        data = bytes(buf[:n])
    else:
        buf = bytearray(n)
        c.readinto(buf, n)
        data = bytes(buf)
    if st == 206:
        start, end, total = c.range_start, c.range_end, c.range_total
        where = "bytes %d-%d/%d" % (start, end, total)
    else:
        start, end, total = 0, len(data) - 1, len(data)
        where = "the whole file (the server ignored the Range)"
    res = {"status": st, "start": start, "end": end, "total": total, "bytes": len(data)}
    if a.output:
        try:
            with open(a.output, "wb") as f:
                f.write(data)
        except OSError as e:
            raise CommandError("-o %s: %s" % (a.output, e.strerror or type(e).__name__), EXIT_FILE)
        s.out("HTTP %d: %s, %d bytes written to %s" % (st, where, len(data), a.output))
        res["file"] = a.output
    else:
        s.out("HTTP %d: %s (%d bytes)\n%s" % (st, where, len(data), _hex_dump(data, start)))
        res["hex"] = data.hex()
    return res


def check_output(path):
    """-o FILE (and FILE.part) must be a regular file or not exist yet, in a directory that
    does: a device (/dev/full, /dev/null), a FIFO or a directory is refused before any
    request -- a rename over it would replace the node, writing to it would block or fail."""
    for p in (path, path + ".part"):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise CommandError("-o %s: %s" % (p, e.strerror or type(e).__name__), EXIT_USAGE)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file")
            raise CommandError("-o %s: %s; give a regular file" % (p, kind), EXIT_USAGE)
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise CommandError("-o %s: no directory %s" % (path, d), EXIT_USAGE)
    if not os.access(d, os.W_OK):
        raise CommandError("-o %s: directory %s is not writable" % (path, d), EXIT_USAGE)


def _download(s, a):
    if a.output:
        check_output(a.output)
    tok, task = _token_of(s, a)
    _valid_token(tok)
    ip = (task or {}).get("ipPort")
    if ip:
        # An ipPort in the check answer: the package comes from there, as on a device
        # that resolves no names (the Host header stays the server's name). Without a
        # port (the check page's form) it is the platform's port (section 10).
        host, sep, port = ip.rpartition(":")
        if not sep:
            host, port = ip, s.client.port
        s.client.close()
        s.client.addr = (host, int(port))
        s.out("downloading from %s:%s (ipPort)" % (host, port))
    if a.range_spec:
        if a.md5:
            raise CommandError("--md5 checks the whole file; it does not go with --range", EXIT_USAGE)
        return _range_download(s, a, tok)
    expect = (a.md5 or (task or {}).get("md5") or "").lower() or None
    if expect and not re.match(r"^[0-9a-f]{32}$", expect):
        raise CommandError("--md5: 32 hex digits", EXIT_USAGE)
    md5_from = "--md5" if a.md5 else ("the task" if expect else None)
    total = a.size or (task or {}).get("size")
    out = a.output or tok + ".bin"
    check_output(out)
    part = out + ".part"
    have = os.path.getsize(part) if os.path.exists(part) else 0
    if total is not None and have > total:
        raise CommandError("%s has %d bytes, more than the package's %d: delete it" % (part, have, total),
                           EXIT_USAGE)
    resumed = have
    c = s.client
    api = s.api(auth=False)
    path = "/ota/south/download/" + tok
    buf = bytearray(8192)  # written out as it comes: an interruption keeps all but < 8 KiB
    bar = None
    show_bar = sys.stderr.isatty() and not a.json and not a.no_progress
    requests = 0
    try:
        f = open(part, "ab")
    except OSError as e:
        raise CommandError("-o %s: %s" % (part, e.strerror or type(e).__name__), EXIT_FILE)
    try:
        while total is None or have < total:
            end = have + a.chunk - 1
            if total is None:
                # Size unknown (--token without --size): learn it from the first answer.
                st = c.send_range(path, have, end)
                requests += 1
                _answer_head(c, st)
                if st == 206:
                    total = c.range_total
                    if c.range_start != have:
                        c.drain()
                        if have >= total:
                            break
                        raise ProtocolError("wrong Content-Range")
                    n = c.range_end - have + 1
                else:
                    total = c.length
                    n = total
            else:
                end = min(end, total - 1)
                n = api.fetch(tok, have, end, total)
                requests += 1
                st = c.status
            if bar is None and show_bar:
                import shutil

                from tqdm import tqdm

                # A terminal that reports no size (0x0) would get no bar at all.
                size = shutil.get_terminal_size((80, 24))
                bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
                           file=sys.stderr, desc=os.path.basename(out), leave=True,
                           ncols=min(100, size.columns), nrows=size.lines)
            pos = 0 if st == 200 else have  # 200: the whole file from byte 0
            left = n
            while left:
                k = min(left, len(buf))
                c.readinto(buf, k)
                left -= k
                lo = max(0, have - pos)
                if lo < k:
                    f.write(memoryview(buf)[lo:k])
                    if bar is not None:
                        bar.update(k - lo)
                pos += k
                have = max(have, pos)
        f.close()
    except OtaError as e:
        f.close()
        e.hint = "; %d bytes kept in %s: run the same command again to resume" % (have, part)
        raise
    except OSError as e:  # ENOSPC, EIO: the disk, not the network
        try:
            f.close()
        except OSError:
            pass
        raise CommandError("-o %s: %s (%d bytes kept)" % (part, e.strerror or type(e).__name__, have), EXIT_FILE)
    finally:
        if bar is not None:
            bar.close()
    h = hashlib.md5()
    with open(part, "rb") as fp:
        for blk in iter(lambda: fp.read(1 << 20), b""):
            h.update(blk)
    got = h.hexdigest()
    res = {"file": out, "bytes": have, "total": total, "resumed_from": resumed, "fetched": have - resumed,
           "requests": requests, "md5": got, "expected_md5": expect, "md5_verified": False}
    if expect and got != expect:
        if not a.keep_part:
            os.remove(part)
        msg = "MD5 mismatch: got %s, expected %s (from %s); %s %s" % (
            got, expect, md5_from, part, "kept" if a.keep_part else "deleted")
        ce = CommandError(msg, EXIT_MD5)
        _json_error(a, ce, dict(res, error="md5 mismatch"))
        raise ce
    os.replace(part, out)
    res["md5_verified"] = bool(expect)
    note = ("verified against %s" % md5_from) if expect else "NOT verified (no --md5 and no task md5)"
    s.out("saved %s: %d bytes%s, %d fetched in %d request%s; md5 %s %s" % (
        out, have, " (resumed at %d)" % resumed if resumed else "", have - resumed, requests,
        "" if requests == 1 else "s", got, note))
    return res


HANDLERS = {
    "report-version": _report_version,
    "query-version": _query_version,
    "check": _check,
    "token-check": _token_check,
    "tasking": _tasking,
    "download": _download,
    "report": _report,
}
