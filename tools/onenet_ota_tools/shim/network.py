# Stand-in for `network`: a WLAN that is always up (the host's own network is used).
STA_IF = 0
AP_IF = 1
STAT_GOT_IP = 1010


class WLAN:
    def __init__(self, interface=STA_IF):
        self._if = interface
        self._active = True

    def active(self, *a):
        if a:
            self._active = bool(a[0])
        return self._active

    def connect(self, ssid=None, key=None, **kw):
        pass

    def disconnect(self):
        pass

    def isconnected(self):
        return True

    def status(self, *a):
        return STAT_GOT_IP

    def ifconfig(self, *a):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")

    def config(self, *a, **kw):
        if a and a[0] == "mac":
            return b"\x24\x0a\xc4\x12\x34\x56"
        return None
