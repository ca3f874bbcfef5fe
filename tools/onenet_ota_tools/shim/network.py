# Stand-in for `network`: a WLAN that is always up (the host's own network is used).
# Arguments as ports/esp32/network_wlan.c: WLAN(interface) positional only
# (mp_arg_check_num(.., 0, 1, false)); connect(ssid, key, *, bssid) with ssid and key
# positional only (their names are empty in the C argument table). The nRF52832 has no
# network module (nomods hides it).
STA_IF = 0
AP_IF = 1
STAT_GOT_IP = 1010


class WLAN:
    def __init__(self, *a, **kw):
        if kw:
            raise TypeError("function doesn't take keyword arguments")
        if len(a) > 1:
            raise TypeError("function takes at most 1 positional argument")
        interface = a[0] if a else STA_IF
        if interface not in (STA_IF, AP_IF):
            raise ValueError("invalid WLAN interface identifier")
        self._if = interface
        self._active = True

    def active(self, *a):
        if a:
            self._active = bool(a[0])
        return self._active

    def connect(self, *a, bssid=None):
        if len(a) > 2:
            raise TypeError("function takes at most 2 positional arguments")

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
