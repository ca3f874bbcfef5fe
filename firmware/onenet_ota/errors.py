# Typed errors shared by every layer. Messages are short and never carry secrets
# (no access key, no Authorization value, no download token).
#
# Each error knows the OneNET result code a download failure of that kind is reported
# with (contract section 6): 104 for time-outs, 107 for anything not known better.
#
# `const` for every module of the agent: MicroPython's own (the compiler folds
# `_X = const(n)` by name, so private ones cost no RAM), a stand-in elsewhere.
try:
    from micropython import const
except ImportError:

    def const(x):
        return x


class OtaError(Exception):
    code = 107  # result code to report if this error ends a download


class NetError(OtaError):
    # The link failed: refused, reset, closed early. Worth a retry.
    pass


class Timeout(NetError):
    # No data within the configured time-out.
    code = 104


class ProtocolError(OtaError):
    # The server's answer broke a rule: caps exceeded, bad framing, a field that does
    # not validate. Never retried blindly on the same connection.
    pass


class ConfigError(OtaError):
    # Bad configuration; the message names the field.
    pass


class NoSpace(OtaError):
    code = 102


class BadImage(OtaError):
    # The package is not an image this sink accepts (wrong chip, bad magic, torn).
    code = 206


class PlatformError(OtaError):
    # An errno from the platform (contract sections 3, 4, 6), or the one-byte error
    # body of a download (1/2/3, kept as errno 1001..1003). Modules that react to an
    # errno name it with a private const(), which costs no RAM:
    #   1 auth failed, 2 bad parameters, 4 token/device differ, 7 internal error,
    #   8 manuf/model differ, 9 version differs, 11 no task, 12 token expired,
    #   17 invalid state, 20 task finished, 21 invalid operation, 22 cancelled,
    #   24 bad result, 27 bad version format.
    def __init__(self, errno, msg=""):
        super().__init__(errno, msg)  # MicroPython has no Base.__init__(self, ...)
        self.errno = errno
        self.msg = msg


def what(e):
    # "Type: message" for a log line (messages never carry secrets, see above).
    return "%s: %s" % (type(e).__name__, e.args[0] if e.args else "")


class Stop(Exception):
    # Ends the agent's cycle with a result ("none", "failed", "cancelled", "paused"):
    # control flow, not an error (never an OtaError, so no handler takes it for one).
    def __init__(self, result, code=0):
        super().__init__(result)
        self.result = result
        self.code = code
