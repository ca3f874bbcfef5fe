# onenet-ota serve: run the local OneNET OTA simulator until Ctrl-C.
import argparse
import os
import signal
import sys
import threading

from ..cli import CommandError, finite_float, int_range

EPILOG = """\
admin token: /admin/... and the page at / need it. It is --admin-token T, else
$ONENET_ADMIN_TOKEN, else a random one; printed at start and written to
<state-dir>/admin-token (mode 0600, removed at exit), where `onenet-ota publish` and
`onenet-ota admin` find it for a loopback --server (their --state-dir, default
./state/sim). The printed page URL carries it once (/?token=T sets an HttpOnly,
SameSite=Strict cookie and redirects to /). Admin requests must name this server in
Host (a loopback name or the bound address) and come from no other Origin.
The device calls (/ota/...) need no admin token: they are checked like the platform's."""


def add_arguments(p):
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int_range(0, 65535), default=8080,
                   help="TCP port (default 8080; 0 = any free port)")
    p.add_argument("--state-dir", default=os.path.join(".", "state", "sim"),
                   help="SQLite state and packages (default ./state/sim, created)")
    p.add_argument("--admin-token", metavar="T", help="the admin token (16-128 of [A-Za-z0-9_-]; env "
                   "ONENET_ADMIN_TOKEN; default: random, printed)")
    p.add_argument("--max-connections", type=int_range(8, 100000), metavar="N",
                   help="connections held at once; at the cap the longest idle one is closed "
                   "(default: from ulimit -n, at most 1000)")
    p.add_argument("--head-timeout", type=finite_float(0, 3600, strict_lo=True), default=10.0, metavar="S",
                   help="seconds a connection has for a request head (default 10)")
    p.add_argument("--idle-timeout", type=finite_float(0, 86400, strict_lo=True), default=120.0, metavar="S",
                   help="seconds a kept-alive connection may wait for its next request (default 120)")
    p.add_argument("--fault", action="append", default=[], metavar="TARGET:KNOB=V[,KNOB=V]",
                   help="inject a fault; TARGET is a dev_id or task:ID (repeatable; see admin fault --help)")
    p.add_argument("--quiet", action="store_true", help="no request log on stderr")
    p.add_argument("--ip-port", metavar="HOST:PORT", help="the address a check answer's ipPort names "
                   "(default: this server; giving one selects --ipport-form hostport)")
    p.add_argument("--mqtt", metavar="[USER[:PASSWORD]@]HOST:PORT",
                   help="publish the platform's task notification ($sys/{pid}/{dev}/ota/inform) "
                        "through this MQTT broker when a task is created, and record the "
                        "device's inform_reply (docs/mqtt.md)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate chain (with --tls-key)")
    p.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    from ..sim.faults import MODES

    g = p.add_argument_group("modes: where the platform's sources disagree (docs/conformance.md); "
                             "the first value is the default")
    for k, vals in MODES.items():
        g.add_argument("--" + k.replace("_", "-"), metavar="N" if k == "conn_requests" else None,
                       choices=None if k == "conn_requests" else [str(v).lower() for v in vals],
                       dest="mode_" + k,
                       help="default %s%s" % (str(vals[0]).lower(), " (0 = no cap)" if k == "conn_requests" else ""))
    g.add_argument("--mode", action="append", default=[], metavar="KNOB=V[,KNOB=V]",
                   help="set modes by name (repeatable; same names as above, with _)")


def run(args):
    from ..sim import Simulator
    from ..sim.faults import MODES, parse_modes, parse_spec

    try:
        modes = parse_modes(args.mode)
        modes.update(parse_modes(["%s=%s" % (k, getattr(args, "mode_" + k)) for k in MODES
                                  if getattr(args, "mode_" + k) is not None]))
    except ValueError as e:
        raise CommandError(str(e), 2)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise CommandError("--tls-cert and --tls-key go together", 2)
    if args.tls_cert:
        import ssl

        try:  # said as a usage error here, not as "cannot listen" later
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError, ValueError) as e:
            raise CommandError("cannot serve HTTPS with %s / %s: %s" % (
                args.tls_cert, args.tls_key, getattr(e, "strerror", None) or getattr(e, "reason", None)
                or type(e).__name__), 2)
    faults = []
    for spec in args.fault:
        try:
            faults.append(parse_spec(spec))
        except ValueError as e:
            raise CommandError(str(e), 2)
    from ..sim.core import valid_admin_token

    token = args.admin_token or os.environ.get("ONENET_ADMIN_TOKEN") or None
    if token is not None and not valid_admin_token(token):
        raise CommandError("--admin-token / ONENET_ADMIN_TOKEN: 16-128 characters of [A-Za-z0-9_-]", 2)
    if os.path.exists(args.state_dir) and not os.path.isdir(args.state_dir):
        raise CommandError("--state-dir %s: not a directory" % args.state_dir, 2)
    try:
        sim = Simulator(args.state_dir, port=args.port, host=args.host, verbose=not args.quiet,
                        ip_port=args.ip_port, modes=modes,
                        tls=(args.tls_cert, args.tls_key) if args.tls_cert else None,
                        admin_token=token, max_connections=args.max_connections,
                        head_timeout=args.head_timeout, idle_timeout=args.idle_timeout)
    except OSError as e:
        raise CommandError("state dir %s: %s" % (args.state_dir, e.strerror or type(e).__name__), 2)
    except Exception as e:  # sqlite3.DatabaseError: a file that is not the simulator's database
        raise CommandError("state dir %s: cannot open its database (%s)" % (args.state_dir, type(e).__name__), 2)
    for target, knobs in faults:
        sim.faults.set(target, **knobs)
    try:
        sim.start()
    except OSError as e:
        sim.stop()
        raise CommandError("cannot listen on %s:%d: %s" % (args.host, args.port, e.strerror or type(e).__name__))
    except Exception as e:  # ssl.SSLError and the like: a bad certificate or key file
        sim.stop()
        raise CommandError("cannot serve HTTPS with %s / %s: %s" % (args.tls_cert, args.tls_key, e), 2)
    inform = None
    if args.mqtt:
        from ..sim.inform import Inform, parse_spec

        try:
            inform = Inform(sim, *parse_spec(args.mqtt)).attach()
        except (ValueError, OSError) as e:
            sim.stop()
            raise CommandError(str(e), 2)
        print("task notification: MQTT %s" % args.mqtt.rsplit("@", 1)[-1], flush=True)
    print("OneNET OTA simulator on %s  (state: %s)" % (sim.url, os.path.abspath(args.state_dir)), flush=True)
    print("admin token: %s  (in %s; the page: %s)" % (sim.admin_token, sim.token_file, sim.admin_url), flush=True)
    changed = ["%s=%s" % kv for kv in sorted(sim.modes().items()) if kv[1] != MODES[kv[0]][0]]
    if changed:
        print("modes: %s" % " ".join(changed), flush=True)
    done = threading.Event()

    def _stop(*_):
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if inform:
            inform.stop()
        sim.stop()
        print("simulator stopped", file=sys.stderr, flush=True)
    return 0
