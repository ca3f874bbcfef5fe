# The platform's errno values and result codes with their documented meanings, in
# English and Chinese (shared/docs/onenet-ota-api.md sections 3, 4, 5 and 6; the Chinese
# follows the platform's own wording in the seed walkthrough where it has one).
#
# describe(errno, call) -> "errno N: <English> / <中文>" (the older report form gives
# 1 and 2 their own meanings). Result codes have names for `onenet-ota report --result`.

ERRNOS = {
    0: ("succ", "成功"),
    1: ("authentication failed (or the device does not exist)", "鉴权失败（或设备不存在）"),
    2: ("bad request parameters", "请求参数错误"),
    4: ("token and device differ", "token与设备不匹配"),
    7: ("platform internal error, retry later", "平台内部错误，请稍后重试"),
    8: ("task exists but manuf/model differ: the platform failed the task",
        "存在任务但厂商编号/芯片编号不一致，任务已失败"),
    9: ("task exists but the version differs (differential package): task failed",
        "存在任务但版本不一致（差分包），任务已失败"),
    11: ("no task of this type", "没有该类型的升级任务"),
    12: ("token expired: end the upgrade", "token已过期，结束升级"),
    17: ("invalid state (the task is not in a state that allows this call)", "任务状态无效"),
    20: ("task already finished", "任务已结束"),
    21: ("invalid operation", "无效操作"),
    22: ("task cancelled (no failure report needed)", "任务已取消（无需上报失败）"),
    24: ("bad result value", "result参数错误"),
    27: ("bad version format: 1-20 characters of [A-Za-z0-9_.-]", "版本号格式错误：1-20位字母、数字、_ . -"),
    # The one-byte answers of a download (no Content-Length; section 10: 1-6, an ASCII
    # digit or the raw byte value), kept as 1000 + code like the firmware's
    # PlatformError. The SDK retries on 2 and reports 107 for the others.
    1001: ("download refused: resource not found (report 107)", "下载失败：资源不存在（上报107）"),
    1002: ("download refused: file size mismatch (retry, then report 107)",
           "下载失败：文件大小不一致（重试，之后上报107）"),
    1003: ("download refused: invalid token (report 107)", "下载失败：token无效（上报107）"),
    1004: ("download refused: failed to get the file (report 107)", "下载失败：获取文件失败（上报107）"),
    1005: ("download refused: bad parameter (report 107)", "下载失败：参数错误（上报107）"),
    1006: ("download refused: NB base-station limit (report 107)", "下载失败：NB基站限制（上报107）"),
}

# GET /ota/south/tasking documents its own meanings for 2, 4 and 12 (section 10).
TASKING = {
    2: ("bad type parameter", "type参数错误"),
    4: ("no valid token: no task being downloaded or upgraded, or its token expired",
        "未找到有效token：没有升级中的任务，或任务token已过期"),
    12: ("token expired: the upgrade flow has ended", "token已过期，升级流程结束"),
}

# The older POST /ota/south/report form documents its own meanings for 1 and 2.
OLD_REPORT = {
    1: ("token authentication failed", "token鉴权失败"),
    2: ("unknown result code", "未知的result码"),
}

# code: (name, English, 中文). Names are what `report --result NAME` accepts.
RESULTS = {
    101: ("downloaded", "package downloaded (task -> upgrading)", "升级包下载成功"),
    102: ("no-space", "download failed: no space", "下载失败，空间不足"),
    103: ("download-out-of-memory", "download failed: out of memory", "下载失败，内存溢出"),
    104: ("timeout", "download failed: request timed out", "下载失败，下载请求超时"),
    105: ("download-low-battery", "download failed: low battery", "下载失败，电量不足"),
    106: ("weak-signal", "download failed: weak signal", "下载失败，信号不良"),
    107: ("download-failed", "download failed: unknown error", "下载失败，未知异常"),
    201: ("succeeded", "upgrade succeeded (device version = target; task done)", "升级成功"),
    202: ("upgrade-low-battery", "upgrade failed: low battery", "升级失败，电量不足"),
    203: ("upgrade-out-of-memory", "upgrade failed: out of memory", "升级失败，内存溢出"),
    204: ("version-mismatch", "upgrade failed: package version differs from target", "升级失败，版本不一致"),
    205: ("md5-failed", "upgrade failed: MD5 check failed", "升级失败，MD5校验失败"),
    206: ("upgrade-failed", "upgrade failed: unknown error", "升级失败，未知异常"),
    207: ("max-retries", "maximum retries reached", "达到最大重试次数"),
    208: ("expired", "upgrade expired", "设备升级过期"),
}

# Extra spellings accepted for a few codes (unambiguous ones only).
ALIASES = {
    "download-ok": 101, "download-success": 101, "success": 201, "ok": 201, "upgraded": 201,
    "no-memory": None,  # ambiguous: 103 or 203 (refused with a hint)
    "low-battery": None,  # ambiguous: 105 or 202
    "oom": None,
    "out-of-memory": None,
    "download-oom": 103, "upgrade-oom": 203, "download-timeout": 104, "signal": 106,
    "download-error": 107, "download-unknown": 107, "upgrade-error": 206, "upgrade-unknown": 206,
    "md5": 205, "md5-mismatch": 205, "bad-md5": 205, "retries": 207, "upgrade-expired": 208,
}

_BY_NAME = {v[0]: k for k, v in RESULTS.items()}


def meaning(errno, call=None):
    """-> (English, 中文) for an errno; call "report-old" selects the older report's table."""
    if call == "report-old" and errno in OLD_REPORT:
        return OLD_REPORT[errno]
    if call == "tasking" and errno in TASKING:
        return TASKING[errno]
    return ERRNOS.get(errno, ("undocumented errno", "未记录的错误码"))


def describe(errno, call=None):
    en, zh = meaning(errno, call)
    return "errno %d: %s / %s" % (errno, en, zh)


def result_code(text):
    """A result code from a number ("205") or a name ("md5-failed", "md5_failed").
    Raises ValueError with a helpful message."""
    s = str(text).strip().lower().replace("_", "-")
    if s.isdigit():
        n = int(s)
        if n <= 100:
            raise ValueError("result codes are > 100 (use --step for progress 0..100)")
        return n
    if s in _BY_NAME:
        return _BY_NAME[s]
    if s in ALIASES:
        if ALIASES[s] is None:
            cands = [c for c, v in RESULTS.items() if v[0].endswith(s.replace("no-memory", "out-of-memory")
                                                                       .replace("oom", "out-of-memory"))]
            raise ValueError("%r is ambiguous: %s" % (text, ", ".join(
                "%s (%d)" % (RESULTS[c][0], c) for c in cands)))
        return ALIASES[s]
    raise ValueError("unknown result %r; use a code or one of: %s" % (text, ", ".join(names())))


def names():
    return [v[0] for v in RESULTS.values()]


def result_text(code):
    r = RESULTS.get(code)
    if r is None:
        return "code %d (not in the documented table)" % code
    return "%d %s: %s / %s" % (code, r[0], r[1], r[2])


def results_table():
    """The code table for --help epilogs."""
    return "\n".join("  %d  %-23s %s / %s" % (c, v[0], v[1], v[2]) for c, v in RESULTS.items())
