# Typed errors shared by every layer. Messages are short and never carry secrets
# (no access key, no Authorization value, no download token).
#
# Each error knows the OneNET result code a download failure of that kind is reported
# with (contract section 6): 104 for time-outs, 107 for anything not known better.


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
    # body of a download (1/2/3, kept as errno 1001..1003).
    def __init__(self, errno, msg=""):
        OtaError.__init__(self, errno, msg)
        self.errno = errno
        self.msg = msg


# Platform errnos the agent reacts to (contract tables).
E_AUTH = 1
E_PARAMS = 2
E_TOKEN_DEVICE = 4
E_INTERNAL = 7
E_MODEL = 8
E_VERSION = 9
E_NO_TASK = 11
E_TOKEN_EXPIRED = 12
E_STATE = 17
E_FINISHED = 20
E_INVALID_OP = 21
E_CANCELLED = 22
E_RESULT = 24
E_VERSION_FORMAT = 27
# Download answered with a one-byte body and no Content-Length (contract section 5).
E_DL_NOT_FOUND = 1001
E_DL_SIZE = 1002
E_DL_TOKEN = 1003
