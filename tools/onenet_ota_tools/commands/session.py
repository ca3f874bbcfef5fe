# The session of one platform call (`check`, `download`, ...): where its server,
# credentials, transport and API come from, how its failures map to exit codes, and
# the --raw recording. Every platform/host choice of a call is made here, in Session
# (server and TLS, the recorder, which Api speaks to the server, an ipPort redirect),
# so a new choice (e.g. a platform dialect) is one argument in `session_arguments` and
# one branch in Session.
#
# The calls go through the firmware's own code (onenet_ota.api.Api over onenet_ota.http
# .Client over onenet_ota.transport.SocketTransport), so what this tool sends is what a
# device sends. `--raw` wraps the transport in a recorder and prints the exact bytes
# (the Authorization's sign masked unless --show-secrets; the access key never goes on
# the wire and is never printed). Errors are mapped to exit codes (EXIT_CODES below).
import argparse
import json
import re
import sys

from onenet_ota import agent as fw_agent, api as fw_api
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
def session_arguments(p, epilog):
    """The options every platform call shares (server, credentials, output), after the
    call's own; `epilog` is the call's example text."""
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = epilog + "\n\n" + C.PRECEDENCE_HELP + "\n\n" + EXIT_CODES
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
    d = p.add_argument_group("platform dialect (docs/dialects.md)")
    d.add_argument("--platform", choices=("legacy", "fuse", "studio"), default="legacy",
                   help="legacy ota/south (default), fuse (fuse-ota: dev-id is the device name) or studio")
    d.add_argument("--token-res", choices=("product", "device", "user"),
                   help="fuse/studio token level (default: fuse user, studio device); --access-key is "
                   "that level's key")
    d.add_argument("--token-version", choices=("2018-10-31", "2022-05-01"),
                   help="fuse/studio token version (default: fuse 2022-05-01, studio 2018-10-31)")
    d.add_argument("--user-id", metavar="ID", help="fuse user-level token: the account's id")
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
    """One call's server, credentials, client and Api, chosen from its arguments here
    and nowhere else; the handlers only ask it (`api()`, `client`, `dev_id()`)."""

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
        if "server" not in self.creds.source:
            # Said aloud: the built-in default is the real platform, not the simulator.
            print("note: no --server, --local, ONENET_SERVER or config server: calling the platform at %s"
                  % self.server, file=sys.stderr)
        host, port, tls = C.parse_server(self.server)
        self.rec = Recorder() if args.raw else None
        self._tls, self._ca = tls, args.ca
        # The platform's dialect (the firmware's own module, agent._dialect): its Client
        # reads Ota-Errno and Content-Range-Start/End.
        self.platform = getattr(args, "platform", None) or "legacy"
        self._dialect = fw_agent.dialect(self.platform)
        self.client = getattr(self._dialect, "Client", Client)(host, port, connect=self._connect, timeout_ms=int(args.timeout * 1000),
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
        # The one place the platform's Api (its paths and JSON shapes) is picked.
        if self._api is None or (auth and not self._api_auth):
            a = self.args
            if self.platform != "legacy":
                self._api = self._tid_api(auth)
            else:
                value = self.creds.authorization(a.method, a.et) if auth else ""
                self._api = fw_api.Api(self.client, self.dev_id(auth) or "0", value, 64 * 1024)
            self._api_auth = auth
        return self._api

    def _tid_api(self, auth):
        # fuse-ota / Studio: the config the device would have, checked by the dialect
        # (defaults filled in), and its token (given, or signed at the chosen level).
        import time

        a = self.args
        cfg = {"product_id": self.creds.product_id or "", "dev_id": self.dev_id(), "access_key": self.creds._key,
               "method": a.method, "token_res": a.token_res, "token_version": a.token_version,
               "user_id": a.user_id, "download_auth": "header", "host": self.client.host}
        self._dialect.check(cfg, cfg)
        value = ""
        if auth:
            value = self.creds.given_authorization
            if not value:
                if not self.creds._key or not self.creds.product_id:
                    raise C.CredsError("no credentials: give --product-id and --access-key (the %s key), "
                                       "or --authorization" % cfg["token_res"])
                value = self._dialect.sign(cfg, a.et or int(time.time()) + C.DEFAULT_TTL)
        return self._dialect.Api(self.client, cfg, value, 64 * 1024)

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

    def use_ip_port(self, ip):
        """A check answer's ipPort: later requests go there (as on a device that resolves
        no names; the Host header stays the server's name). Without a port (the check
        page's form) it is the platform's port (section 10). -> (host, port)."""
        host, sep, port = ip.rpartition(":")
        if not sep:
            host, port = ip, self.client.port
        self.client.close()
        self.client.addr = (host, int(port))
        return host, port


def _platform_message(e, call):
    msg = errnos.describe(e.errno, call)
    # The server's own text, when it says more than the documented meaning.
    if e.msg and e.errno < 1000 and not set(re.findall(r"\w+", e.msg.lower())) <= set(
            re.findall(r"\w+", msg.lower())):
        msg += ' (server: "%s")' % e.msg
    return msg


def _to_command_error(e, server, call=None, hint=""):
    """An exception of the firmware's layers -> (CommandError, JSON error fields)."""
    if isinstance(e, PlatformError):
        en, zh = errnos.meaning(e.errno, call)
        return CommandError(_platform_message(e, call) + hint, EXIT_PLATFORM), {
            "errno": e.errno, "error": en, "error_zh": zh, "server_error": e.msg}
    if isinstance(e, Timeout):
        return CommandError("network: %s (server %s)%s" % (e, server, hint), EXIT_NETWORK), {
            "error": "timeout: %s" % e}
    if isinstance(e, NetError):
        return CommandError("network: %s (server %s)%s" % (e, server, hint), EXIT_NETWORK), {
            "error": "network: %s" % e}
    if isinstance(e, (ConfigError, C.CredsError)):
        return CommandError(str(e), EXIT_USAGE), {"error": str(e)}
    if isinstance(e, ProtocolError):
        return CommandError("unexpected answer: %s%s" % (e, hint), EXIT_PROTOCOL), {
            "error": "protocol: %s" % e}
    raise e


def platform_call(handler, errnos_as=None):
    """A handler `f(session, args) -> result dict` -> the command's `run(args)`: the one
    place a call gets its Session, its errors mapped to exit codes and its --json.
    `errnos_as(args)`: the call whose errno meanings apply (errnos.describe), when it is
    not the command's name."""
    def run(args):
        return _run(handler, errnos_as, args)
    run.__name__ = handler.__name__.lstrip("_")
    run.__doc__ = handler.__doc__
    return run


def _run(handler, errnos_as, args):
    name = args.command
    s = None
    try:
        try:
            s = Session(args)
            result = handler(s, args)
        except CommandError as e:
            if not getattr(e, "json_done", False):
                json_error(args, e, {"error": str(e)})
            raise
        except (OtaError, C.CredsError) as e:
            call = errnos_as(args) if errnos_as else name
            ce, fields = _to_command_error(e, s.server if s else "?", call, getattr(e, "hint", ""))
            json_error(args, ce, fields)
            raise ce
    finally:
        if s is not None:
            s.close()
    if args.json:
        result = dict({"ok": True, "command": name, "server": s.server}, **result)
        print(json.dumps(result, ensure_ascii=False, indent=1))
    return result.get("exit", 0)


def json_error(args, ce, fields):
    """Print the --json error object for `ce` (once: _run does not print it again)."""
    ce.json_done = True
    if args.json:
        print(json.dumps(dict({"ok": False, "command": args.command, "exit": ce.code}, **fields),
                         ensure_ascii=False, indent=1))
