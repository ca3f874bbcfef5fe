# onenet-ota reliability: run the reliability campaign and write docs/RELIABILITY.md.
from ..cli import CommandError


def add_arguments(p):
    p.add_argument("--long", action="store_true",
                   help="the long run: 10000 random-cut seeds, 20000 fuzz examples per target")
    p.add_argument("--out", help="where to write the page (default docs/RELIABILITY.md)")
    p.add_argument("--hostile-only", action="store_true",
                   help="run only the simulator/CLI hostile-input tests and replace their section of the page")


def run(args):
    from ..reliability import run as campaign, run_hostile_only

    if args.hostile_only:
        rc, path, tail = run_hostile_only(args.out)
    else:
        rc, path, tail = campaign(args.long, args.out)
    print("wrote", path)
    if rc:
        print(tail)
        raise CommandError("some reliability tests failed (figures written anyway)", 1)
    return 0
