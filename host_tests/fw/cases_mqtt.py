# notify.py on both runtimes (CPython + shim, unix micropython): what the reply says
# for each form of inform, the wake gap, and the back-off against a port where nothing
# listens (OTA_MQTT_CLOSED, a real socket). umqtt.simple comes from the path
# (test_mqtt_fw.py puts the pinned copy there). The broker-level flows are test_mqtt.py.
import os
import time

from onenet_ota import config
from onenet_ota.errors import ConfigError
from onenet_ota.notify import Notifier

KEY = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="


def _cfg(**mqtt):
    m = {"host": "127.0.0.1", "port": 1, "backoff_s": 1, "max_backoff_s": 4, "connect_ms": 500}
    m.update(mqtt)
    # a Studio device: its access_key is the device key (token_res device), which signs
    # the MQTT password too (notify.py)
    return config.check({"product_id": "123123", "dev_id": "5001", "access_key": KEY, "board": "esp32",
                         "platform": "studio", "mqtt": m})


class _Poll:
    # readable while the fake client has messages, else it sleeps the time-out
    def __init__(self, c):
        self.c = c

    def poll(self, ms):
        if self.c.msgs:
            return [1]
        time.sleep_ms(ms)
        return []


class _Client:
    # Stands in for a connected umqtt client: each check_msg delivers the next message.
    def __init__(self, n, msgs):
        self.sock = self  # notify.py asks sock.pending() (TLS buffers)
        self.n = n
        self.msgs = msgs
        self.sent = []

    def check_msg(self):
        if self.msgs:
            t, m = self.msgs.pop(0)
            self.n._cb(t, m)

    def publish(self, topic, msg):
        self.sent.append((topic, msg))

    def ping(self):
        pass

    def pending(self):
        return 0


def _connected(n, msgs):
    c = _Client(n, msgs)
    n._c, n._poll = c, _Poll(c)
    n._up = n._rx = n._tx = time.ticks_ms()
    return c


def case_reply_for_each_inform_form():
    log = []
    n = Notifier(_cfg(), log.append)
    t = b"$sys/123123/5001/ota/inform"
    forms = [b'{"id":"1750000000123"}', b'{"id": 42, "other": [1, 2]}', b'{"id":"a\\"b"}',
             b"not json", b'{"no_id": 1}', b'{"id": true}', b"[" * 2000]
    out = []
    for m in forms:
        c = _connected(n, [(b"$sys/123123/9999/ota/inform", b'{"id":"x"}'), (t, m)])
        n._woke = None
        woke = n.wait(2000)
        out.append([woke, [(tp.decode(), p.decode()) for tp, p in c.sent]])
    assert n.informs == len(forms)
    return {"out": out, "log": [l for l in log if "mqtt:" in l]}


def case_wakes_are_spaced():
    # a flood of informs: the first wakes at once, the next not before 5 s after it
    n = Notifier(_cfg(), lambda m: None)
    t = b"$sys/123123/5001/ota/inform"
    _connected(n, [(t, ('{"id":"%d"}' % i).encode()) for i in range(50)])
    t0 = time.ticks_ms()
    a = n.wait(10000)
    t1 = time.ticks_diff(time.ticks_ms(), t0)
    b = n.wait(10000)
    t2 = time.ticks_diff(time.ticks_ms(), t0)
    return {"first": a, "first_ms": t1, "second": b, "second_ms": t2, "replies": n.replies}


def case_backoff_when_nothing_listens():
    # connect refused at once; over 7.5 s of waiting the tries are at ~0, 1, 3, 7 s
    # (1 s doubled, up to 4 s, plus up to a quarter of jitter): at most 4, never a loop.
    port = int(os.getenv("OTA_MQTT_CLOSED"))
    log = []
    n = Notifier(_cfg(port=port), log.append)
    t0 = time.ticks_ms()
    r = n.wait(7500)
    ms = time.ticks_diff(time.ticks_ms(), t0)
    return {"woke": r, "ms": ms, "connects": n.connects, "log": log}


def case_config_errors():
    out = {}
    import sys

    out["mp"] = sys.implementation.name == "micropython"
    m = {"product_id": "123123", "dev_id": "5001", "access_key": KEY, "board": "esp32", "platform": "studio",
         "mqtt": {"host": "h", "tls": True, "insecure": True}}
    out["tls_port"] = config.check(m)["mqtt"]["port"]
    for k, v in (("tls", "yes"), ("keepalive", -1), ("port", 70000), ("password", ""), ("bogus", 1),
                 ("ca", 5)):
        try:
            _cfg(**({k: v, "tls": True} if k == "ca" else {k: v}))
            out[k] = None
        except ConfigError as e:
            out[k] = str(e)
    try:
        _cfg(tls=True)  # no CA: MicroPython has no certificate store (CPython: the system's)
        out["no_ca"] = None
    except ConfigError as e:
        out["no_ca"] = str(e)
    return out


def case_password_is_the_device_token():
    from onenet_ota.auth import token

    n = Notifier(_cfg(), lambda m: None)
    want = token("123123", KEY, 4102444800, "sha1", "products/123123/devices/5001")  # 2018-10-31
    p = Notifier(_cfg(password="version=x&sign=y"), lambda m: None)
    out = {"signed": n._pw == want.encode(), "given": p._pw == b"version=x&sign=y",
           "user": n._user.decode(), "client_id": n._cid.decode()}
    # fuse: HTTP signs with the account key (user level); the device key is mqtt.key, and
    # the topic carries the product id and device name of the fuse paths
    ukey = "MTIzNDU2Nzg5MGFiY2RlZg=="
    c = config.check({"product_id": "XHm5ltr9qA", "dev_id": "d0", "access_key": ukey, "board": "esp32",
                      "platform": "fuse", "user_id": "498670",
                      "mqtt": {"host": "h", "key": KEY, "token_version": "2022-05-01"}})
    f = Notifier(c, lambda m: None)
    out["fuse"] = [f._topic.decode(), f._user.decode(), f._cid.decode(), f._pw.decode()]
    for bad in ({"product_id": "123123", "dev_id": "5001", "access_key": KEY, "mqtt": {"host": "h"}},
                dict(c, mqtt={"host": "h"})):
        try:
            config.check(bad)
            out.setdefault("refused", []).append(None)
        except ConfigError as e:
            out.setdefault("refused", []).append(str(e))
    return out


# Run alone without umqtt.simple on the path (test_mqtt_fw.py): said once, then wait()
# is the plain sleep: polling only, never an error.
def case_without_umqtt():
    log = []
    n = Notifier(_cfg(), log.append)
    t0 = time.ticks_ms()
    r = n.wait(300)
    return {"woke": r, "ms": time.ticks_diff(time.ticks_ms(), t0), "connects": n.connects, "log": log}
