# One subcommand per OneNET OTA platform call, for a developer who would otherwise type
# raw HTTP into a TCP debugging assistant (shared/seeds/, the platform's "API调试-网络调试助手").
# This module: the JSON calls (report-version, query-version, check, token-check,
# tasking, report). The package download is in download.py; the Session (server,
# credentials, --raw, exit codes) every call runs in is in session.py.
import argparse
import sys

from onenet_ota import api as fw_api
from onenet_ota.errors import ConfigError, ProtocolError

from .. import errnos
from ..board import BOARDS
from ..cli import CommandError, int_range
from .session import EXIT_USAGE, platform_call, session_arguments

# --chip -> the SOTA manuf/model codes (contract section 3; the seed's vendor column is
# swapped), read from the one board table; "other" is the unix board's generic codes.
CHIPS = {("other" if b == "unix" else b): (v["manuf"], v["model"]) for b, v in BOARDS.items()}

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



def check_options(p, required):
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



# -- arguments: one factory per call (cli.COMMANDS names them) ----------------------------
def report_version_arguments(p):
    p.add_argument("--s-version", metavar="V", help="application (MCU) version, e.g. V1.3")
    p.add_argument("--f-version", metavar="V", help="module firmware version")
    session_arguments(p, EPILOGS["report-version"])


def query_version_arguments(p):
    session_arguments(p, EPILOGS["query-version"])


def check_arguments(p):
    check_options(p, True)
    session_arguments(p, EPILOGS["check"])


def token_check_arguments(p):
    p.add_argument("token", nargs="?", metavar="TOKEN", help="the download token (default: from a check)")
    check_options(p, False)
    session_arguments(p, EPILOGS["token-check"])


def tasking_arguments(p):
    p.add_argument("--type", type=int, choices=(1, 2), default=2,
                   help="1 = FOTA, 2 = SOTA (default; the platform requires it)")
    p.add_argument("--cdn", action=argparse.BooleanOptionalAction, default=None,
                   help="send cdn=true / cdn=false (default: not sent; it only asks for ipPort)")
    session_arguments(p, EPILOGS["tasking"])


def report_arguments(p):
    p.add_argument("--token", help="the task's token (default: from a check)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--step", type=int, metavar="N", help="download progress 0..100")
    g.add_argument("--result", metavar="CODE", help="result code: a number > 100 or a name (below)")
    p.add_argument("--old-form", action="store_true",
                   help='use POST /ota/south/report?dev_id=&token= {"result": N} (with --result)')
    check_options(p, False)
    session_arguments(p, EPILOGS["report"])


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
    s.out("dev_id %s\nf_version: %s\ns_version: %s" % (s.dev_id(), _shown(data.get("f_version")),
                                                        _shown(data.get("s_version"))))
    return {"errno": 0, "dev_id": s.dev_id(), "data": data}


def _shown(v):
    # A value the platform did not send: "-", never Python's None.
    return "-" if v is None or v == "" else v


def _manuf_model(a):
    manuf, model = a.manuf, a.model
    if a.chip:
        cm, cd = CHIPS[a.chip]
        manuf, model = manuf or cm, model or cd
    if not manuf or not model:
        raise CommandError("check needs --manuf and --model (or --chip esp32|nrf52832|gd32|other)", EXIT_USAGE)
    return manuf, model


def do_check(s, a):
    if not a.version:
        raise CommandError("check needs --version (the device's current version)", EXIT_USAGE)
    # fuse-ota / Studio checks carry only type and version (new-api §4.3)
    manuf, model = _manuf_model(a) if s.platform == "legacy" else (None, None)
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
    task = do_check(s, a)
    lines = ["task for dev_id %s (type %d %s):" % (s.dev_id(), a.type, "FOTA" if a.type == 1 else "SOTA")]
    for k in _TASK_FIELDS + (("status",) if "status" in task else ()):  # status: fuse/studio
        v = task.get(k)
        if k == "type":
            v = "%s (%s package)" % (v, "full" if v == 1 else "differential")
        lines.append("  %-9s %s" % (k, "-" if v is None else v))
    s.out("\n".join(lines))
    return {"errno": 0, "dev_id": s.dev_id(), "task": task}


def token_of(s, a):
    """--token / TOKEN, else a check -> (token, task or None)."""
    tok = getattr(a, "token", None)
    if tok:
        valid_token(tok)  # a usage error (2), before anything is sent
        return tok, None
    if not a.version:
        raise CommandError("give --token, or the check options (--version and --chip or --manuf/--model) "
                           "to look it up", EXIT_USAGE)
    task = do_check(s, a)
    return task["token"], task


def _token_check(s, a):
    tok, _ = token_of(s, a)
    st = s.api().check_token(tok)
    if s.platform != "legacy":  # GET …/{tid}/check: the task's status 1-3 (new-api §4.4)
        s.out("task %s: status %d (%s)" % (tok, st, ("pending", "downloading", "upgrading")[st - 1]))
        return {"errno": 0, "dev_id": s.dev_id(), "token": tok, "status": st}
    s.out("token %s: valid (errno 0); a pending task is now downloading" % tok)
    return {"errno": 0, "dev_id": s.dev_id(), "token": tok}


def _tasking(s, a):
    _legacy_only(s, "tasking")
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
    if a.old_form:
        _legacy_only(s, "--old-form")
    tok, _ = token_of(s, a)
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



def _legacy_only(s, what):
    if s.platform != "legacy":
        raise CommandError("%s: a legacy (ota/south) call; --platform %s has no such endpoint" % (what, s.platform),
                           EXIT_USAGE)


def valid_token(tok):
    return fw_api._chars(tok, fw_api._TCHARS, 1, 64, "token", ConfigError)


report_version = platform_call(_report_version)
query_version = platform_call(_query_version)
check = platform_call(_check)
token_check = platform_call(_token_check)
tasking = platform_call(_tasking)
report = platform_call(_report, errnos_as=lambda a: "report-old" if a.old_form else "report")
