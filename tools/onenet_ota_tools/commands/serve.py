# onenet-ota serve: run the local OneNET OTA simulator until Ctrl-C.
import os
import signal
import sys
import threading

from ..cli import CommandError


def add_arguments(p):
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 = any free port)")
    p.add_argument("--state-dir", default=os.path.join(".", "state", "sim"),
                   help="SQLite state and packages (default ./state/sim, created)")
    p.add_argument("--fault", action="append", default=[], metavar="TARGET:KNOB=V[,KNOB=V]",
                   help="inject a fault; TARGET is a dev_id or task:ID (repeatable; see admin fault --help)")
    p.add_argument("--quiet", action="store_true", help="no request log on stderr")


def run(args):
    from ..sim import Simulator
    from ..sim.faults import parse_spec

    faults = []
    for spec in args.fault:
        try:
            faults.append(parse_spec(spec))
        except ValueError as e:
            raise CommandError(str(e), 2)
    try:
        sim = Simulator(args.state_dir, port=args.port, host=args.host, verbose=not args.quiet)
    except OSError as e:
        raise CommandError("state dir %s: %s" % (args.state_dir, e.strerror or e))
    for target, knobs in faults:
        sim.faults.set(target, **knobs)
    try:
        sim.start()
    except OSError as e:
        sim.store.close()
        raise CommandError("cannot listen on %s:%d: %s" % (args.host, args.port, e.strerror or e))
    print("OneNET OTA simulator on %s  (state: %s)" % (sim.url, os.path.abspath(args.state_dir)), flush=True)
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
        sim.stop()
        print("simulator stopped", file=sys.stderr, flush=True)
    return 0
