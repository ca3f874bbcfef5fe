"""The platform's MQTT task notification, through a real broker (`serve --mqtt`).

Task notification is a feature of the current platform (new-api digest section 8; the
legacy digest has no MQTT): when the simulator creates a task for a device of a fuse-ota
or Studio product (`products.platform`, sim/dialects.py) it publishes, as the platform
does for a task created with "platform notification" (section 8):

    topic   $sys/{pro_id}/{dev_name}/ota/inform
    payload {"id": "<a fresh message id>"}

with the product id and device name of the dialect's HTTP paths (the store's pid and
dev_id). A task of a legacy device is not announced (an `inform` event with
`skipped: "legacy"` says so). It records what the device answers on
`$sys/{pid}/{dev}/ota/inform_reply`. The payload carries only `id`: it is the one field
every known client reads, and no source shows any other (section 8; section 11.2 lists
it as unknown). A reply is taken as the digest has it: `{"id": <the inform's id>,
"code": 200, "msg": "success"}` within 20 s (section 8, one source); `code` 0 and the
key `message` (also seen there) are recorded as given. Each inform and reply is an
event of the task (`inform`, `inform_reply`), so the admin API and the page show them.

The broker authenticates the device; `device_password` is the login the platform
expects (section 8 "Broker facts": user = product id, password = the device-level
token, version 2018-10-31, signed with the device's key), for a broker's password file.

The MQTT client is paho-mqtt (pinned in pyproject.toml); the broker is whatever
`HOST:PORT` names (the tests start Debian's mosquitto on loopback).
"""
import json
import threading
import time

DEADLINE_S = 20  # section 8: the reply is due within 20 s


def device_password(sim, dev_id, et, method="sha1", version="2018-10-31"):
    """The MQTT password the platform expects from device dev_id (section 8: the
    device-level token, res products/{pid}/devices/{dev}, signed with its dev_key)."""
    from onenet_ota.api_tid import token

    d = sim.store.device(dev_id)
    if d is None or not d.get("dev_key"):
        raise ValueError("device %s has no device key (add it with dev_key)" % dev_id)
    return token("products/%s/devices/%s" % (d["pid"], dev_id), d["dev_key"], et, method, version)


def user_name(sim, dev_id):
    """The MQTT user name of device dev_id: its product id (section 8)."""
    return sim.store.device(dev_id)["pid"]


def parse_spec(spec):
    """`[USER[:PASSWORD]@]HOST:PORT` -> (host, port, user, password)."""
    user = password = None
    if "@" in spec:
        cred, spec = spec.rsplit("@", 1)
        user, _, password = cred.partition(":")
        password = password or None
    host, sep, port = spec.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("--mqtt: [USER[:PASSWORD]@]HOST:PORT")
    return host.strip("[]"), int(port), user or None, password


class Inform:
    def __init__(self, sim, host, port, user=None, password=None, client_id="onenet-ota-sim", timeout=5.0):
        import paho.mqtt.client as mqtt

        self.sim = sim
        self._lock = threading.Lock()
        self._sent = {}  # message id -> (dev_id, task id, monotonic time sent)
        self._n = 0
        self.replies = []  # every inform_reply: {"topic", "payload", "id", "code", "seconds", "late"}
        self._up = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        if user:
            c.username_pw_set(user, password)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.reconnect_delay_set(1, 30)
        self._c = c
        try:
            c.connect(host, port, keepalive=60)
        except OSError as e:
            raise OSError("MQTT broker %s:%d: %s" % (host, port, e.strerror or e))
        c.loop_start()
        if not self._up.wait(timeout):
            self.stop()
            raise OSError("MQTT broker %s:%d: no CONNACK (refused login?)" % (host, port))

    def _on_connect(self, c, userdata, flags, rc, props=None):
        if getattr(rc, "is_failure", False):
            return
        c.subscribe("$sys/+/+/ota/inform_reply")
        self._up.set()

    def attach(self):
        self.sim.inform = self  # sim.publish() calls task_created()
        return self

    def topic(self, product_id, dev_id):
        return "$sys/%s/%s/ota/inform" % (product_id, dev_id)

    def task_created(self, task):
        """Publish the inform for a new task (a task view: dev_id, product_id, id) of a
        fuse-ota / Studio device; None for a legacy one (no notification there)."""
        p = self.sim.store.product(task["product_id"])
        if not p or p["platform"] in (None, "legacy"):
            self.sim.store.event(task["dev_id"], task["id"], "inform", skipped="legacy")
            return None
        with self._lock:
            self._n += 1
            mid = "%d%03d" % (int(time.time()), self._n % 1000)
            self._sent[mid] = (task["dev_id"], task["id"], time.monotonic())
        r = self._c.publish(self.topic(task["product_id"], task["dev_id"]), json.dumps({"id": mid}), qos=0)
        self.sim.store.event(task["dev_id"], task["id"], "inform", id=mid, sent=r.rc == 0)
        return mid

    def _on_message(self, c, userdata, msg):
        now = time.monotonic()
        try:
            d = json.loads(msg.payload.decode("utf-8"))
        except ValueError:
            d = None
        rid = d.get("id") if isinstance(d, dict) else None
        with self._lock:
            sent = self._sent.get(str(rid)) if rid is not None else None
        rec = {"topic": msg.topic, "payload": msg.payload.decode("utf-8", "replace")[:512],
               "id": rid, "code": d.get("code") if isinstance(d, dict) else None,
               "msg": (d.get("msg", d.get("message")) if isinstance(d, dict) else None),
               "seconds": round(now - sent[2], 3) if sent else None}
        rec["late"] = bool(sent) and rec["seconds"] > DEADLINE_S
        # known: the id is one we sent, answered on that device's reply topic
        rec["known"] = bool(sent) and self._ids(msg.topic)[1] == str(sent[0])
        with self._lock:
            self.replies.append(rec)
        if sent:
            dev, tid = sent[0], sent[1]
        else:
            dev, tid = self._ids(msg.topic)[1] or None, None
        try:
            self.sim.store.event(dev, tid, "inform_reply", id=rid, code=rec["code"], seconds=rec["seconds"],
                                 late=rec["late"], known=rec["known"])
        except Exception:  # the store closed under us (stopping): the record above stays
            pass

    @staticmethod
    def _ids(topic):
        p = topic.split("/")
        return (p[1], p[2]) if len(p) > 2 else ("", "")

    def stop(self):
        if getattr(self.sim, "inform", None) is self:
            self.sim.inform = None
        try:
            self._c.disconnect()
        finally:
            self._c.loop_stop()
