# The app sink's board (docs/app-bundles.md): any board profile (esp32, nrf52832, gd32,
# unix) with its application in an app folder (<root>/a or <root>/b, apprun.py).
# Versions and slots come from the apps, confirm marks the app kept, rollback goes back
# to the previous one. The sink itself (sink_app.py, the bundle parser oab1.py) is
# loaded only when a download starts: a boot that just confirms or polls does not.
import sys

from . import apprun
from .errors import OtaError


class AppBoard:
    # Any board profile, with its app in an app folder: versions, slots, confirm and
    # rollback are the apps'; everything else (network, signal, reset...) the profile's.
    def __init__(self, inner):
        self.b = inner
        self.cfg = inner.cfg
        self.root = inner.cfg["app_root"]
        self.why = ""

    def __getattr__(self, k):
        return getattr(self.b, k)

    def sink(self):
        from .sink_app import AppSink

        c = self.cfg
        return AppSink(self.root, c["capacity"], c["max_boots"])

    def sink_slot(self, sink):
        return sink.slot

    def running_slot(self):
        p, _ = apprun.pointer(self.root)
        return p[1] if p else ""

    def image_version(self):
        s = self.running_slot()
        return apprun.manifest(self.root + "/" + s)[1] if s else None

    def running_version(self):
        return self.image_version() or self.b.running_version()

    def applied(self, rec):
        pass

    # The profile's self-test (config self_test), then the app's own: selftest() in
    # its entry module, True within app_selftest_ms, or it fails (why: self.why, for
    # the agent's log; nothing printed: the nRF52832's UART0 may be the modem's).
    def self_test(self):
        self.why = ""
        if not self.b.self_test():
            return False
        s = self.running_slot()
        entry = apprun.manifest(self.root + "/" + s)[0] if s else None
        if not entry:
            self.why = "no app manifest"
            return False
        import time

        d = self.root + "/" + s
        if d not in sys.path:
            sys.path.insert(0, d)
        t0 = time.ticks_ms()
        try:
            m = __import__(entry)
            f = getattr(m, "selftest", None)
            ok = True if f is None else f() is True
        except Exception as e:
            self.why = "%s.selftest raised %s" % (entry, type(e).__name__)
            return False
        ms = time.ticks_diff(time.ticks_ms(), t0)
        if ms > self.cfg["app_selftest_ms"]:
            self.why = "%s.selftest took %d ms (app_selftest_ms %d)" % (entry, ms, self.cfg["app_selftest_ms"])
            return False
        if not ok:
            self.why = "%s.selftest() did not return True" % entry
        return ok

    def confirm(self, rec):
        if self.running_slot() != rec["slot"]:
            raise OtaError("the app on trial is not running")
        apprun.mark(self.root, "ok")

    # The new app must not be kept: back to the previous one (before the reset).
    def rollback(self, rec):
        p, _ = apprun.pointer(self.root)
        if p and p[1] == rec["slot"] and p[3] == "new":
            apprun.mark(self.root, "fail")

    # The loader went back from the package's app (it never confirmed): why, or None.
    def rolled_back(self, rec):
        p, _ = apprun.pointer(self.root)
        if p and p[2] == rec["slot"] and p[3] in ("crash", "fail"):
            return "the new app never confirmed (%s): rolled back" % ("crash loop" if p[3] == "crash" else "self-test")
        return None
