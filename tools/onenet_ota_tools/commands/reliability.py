# onenet-ota reliability: run the reliability campaign and write its page (--out).
import os

from ..cli import CommandError


def add_arguments(p):
    p.add_argument("--long", action="store_true",
                   help="the long run: 10000 random-cut seeds, 20000 fuzz examples per target")
    p.add_argument("--out", default=os.path.join("build", "RELIABILITY.md"),
                   help="where to write the page (default build/RELIABILITY.md, not over the docs; "
                   "--out docs/RELIABILITY.md regenerates the page; --hostile-only replaces one "
                   "section of an existing page)")
    p.add_argument("--hostile-only", action="store_true",
                   help="run only the simulator/CLI hostile-input tests and replace their section of the page")


def run(args):
    from ..reliability import run as campaign, run_hostile_only

    if args.hostile_only and not os.path.isfile(args.out):
        raise CommandError("--hostile-only replaces a section of an existing page: %s is not one "
                           "(e.g. --out docs/RELIABILITY.md)" % args.out, 2)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.hostile_only:
        rc, path, tail = run_hostile_only(args.out)
    else:
        rc, path, tail = campaign(args.long, args.out)
    print("wrote", path)
    if rc:
        print(tail)
        raise CommandError("some reliability tests failed (figures written anyway)", 1)
    return 0
