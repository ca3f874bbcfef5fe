# MQTT task notification (docs/mqtt.md) through a real broker: Debian's mosquitto,
# started here on 127.0.0.1 (a free port) for each test and stopped after it. Task
# notification is a feature of the current platform (new-api digest section 8), so the
# devices here are a fuse-ota and a Studio device (docs/dialects.md): the simulator
# publishes $sys/{pro_id}/{dev_name}/ota/inform when a task is created (sim/inform.py),
# the broker takes only the device-level token the platform expects as the device's
# password; the ESP32-profile device (`onenet-ota device`, CPython and the unix
# micropython) waits between cycles in notify.wait() and must start the update at once,
# answer on .../inform_reply, and still update by polling when MQTT is unreachable,
# without a tight reconnect loop.
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

from onenet_ota_tools import umqtt_src
from support.agent_env import AgentEnv, md5, image

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
pytestmark = pytest.mark.skipif(not MOSQUITTO, reason="mosquitto missing (Debian: apt-get install mosquitto; "
                                "make test installs it as root)")

ET = 4102444800  # the config's default et: the device's MQTT password is deterministic
SIM_USER, SIM_PASS = "onenet-sim", "sim-pass-4242"
PID, DEV = "XHm5ltr9qA", "d0"  # a product id and device name as the current platform's
PKEY = "cHJvZHVjdGtleXByb2R1Y3Q="  # product key
UKEY = "MTIzNDU2Nzg5MGFiY2RlZg=="  # the account's key (fuse's default HTTP token)
DKEY = "ZGV2a2V5ZGV2a2V5ZGV2a2V5"  # the device's key (the MQTT password's)
UID = "498670"
# The unix micropython's heap for these devices: the fuse/Studio dialect, notify.py and
# umqtt.simple are compiled from source on the device here (a board runs them as .mpy or
# frozen, which costs no compile-time heap); 256k (support/agent_env.py) ran out at the
# reset after the download (MemoryError importing machine), 272k was enough.
MP_HEAP = "288k"
START_S = 1.0  # issue 14: the update starts within a second of the task's creation


class MqttEnv(AgentEnv):
    # AgentEnv with a device of a fuse-ota or Studio product, signing its HTTP calls with
    # the dialect's default token (fuse: user level, the account key; Studio: device
    # level, the device key) and its MQTT login with the device key.
    def __init__(self, tmp, runtime, platform):
        AgentEnv.__init__(self, tmp, runtime)
        self.platform = platform
        self.sim.add_device(DEV, PID, PKEY, platform=platform, user_id=UID, user_key=UKEY, dev_key=DKEY)

    def publish(self, data, target, **kw):
        kw.setdefault("interval", 0)
        kw.setdefault("retry", 3)
        return self.sim.publish(target, PID, PKEY, DEV, data=data, name="fw.bin", **kw)

    def events(self, kind=None, tid=None):
        return [e for e in self.sim.events(DEV, tid) if kind is None or e["kind"] == kind]

    def argv(self, sets=(), **kw):
        sets = ("platform=" + self.platform,) + tuple(sets)
        if self.platform == "fuse":
            sets += ("user_id=" + UID,)
        kw.setdefault("product_id", PID)
        kw.setdefault("dev_id", DEV)
        kw.setdefault("access_key", UKEY if self.platform == "fuse" else DKEY)
        return AgentEnv.argv(self, sets, **kw)

    def mqtt_set(self, port, **m):
        # fuse: access_key is the account's, the device key comes as mqtt.key (Studio:
        # access_key is the device key already)
        if self.platform == "fuse":
            m.setdefault("key", DKEY)
        return mqtt_set(port, **m)


@pytest.fixture(params=["fuse", "studio"])
def platform(request):
    return request.param


@pytest.fixture
def env(runtime, platform, tmp_path):
    e = MqttEnv(tmp_path, runtime, platform)
    try:
        yield e
    finally:
        e.stop()


def device_password(sim):
    # What the broker must take from the device (section 8): the simulator's word for it.
    from onenet_ota_tools.sim.inform import device_password

    return device_password(sim, DEV, ET)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Broker:
    # mosquitto on 127.0.0.1:<free port>; users: {name: password} -> a password file
    # and no anonymous access; tls: (ca, cert, key) files -> a second listener with TLS
    # on tls_port.
    def __init__(self, tmp, users=None, tls=None):
        self.dir = os.path.join(str(tmp), "mosquitto-%d" % id(self))
        os.makedirs(self.dir)
        self.port = free_port()
        self.logfile = os.path.join(self.dir, "log")
        conf = ["persistence false", "log_dest file %s" % self.logfile, "log_type all",
                "connection_messages true", "listener %d 127.0.0.1" % self.port]
        if tls:
            self.tls_port = free_port()
            conf += ["listener %d 127.0.0.1" % self.tls_port, "cafile %s" % tls[0], "certfile %s" % tls[1],
                     "keyfile %s" % tls[2]]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            conf.append("user root")  # else it drops to `mosquitto`, who cannot read this tmp folder
        if users:
            pw = os.path.join(self.dir, "passwd")
            for i, (u, p) in enumerate(users.items()):
                subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) + [pw, u, p],
                               check=True, capture_output=True, timeout=30)
            os.chmod(pw, 0o600)
            conf = ["allow_anonymous false", "password_file %s" % pw] + conf
        else:
            conf.insert(0, "allow_anonymous true")
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        t0 = time.monotonic()
        # ready when its log says so (a probe connection would count as a connect)
        while " running" not in self.log():
            if self.proc.poll() is not None or time.monotonic() - t0 > 10:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                self.stop()
                raise AssertionError("mosquitto did not start: " + err[-500:])
            time.sleep(0.05)

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def connections(self):
        return self.log().count("New connection from")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()


class Hangup:
    # "Broker gone": accepts TCP connections and closes them at once; counts them.
    def __init__(self):
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(16)
        self.s.settimeout(0.1)
        self.port = self.s.getsockname()[1]
        self.accepts = 0
        self._stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                c, _ = self.s.accept()
            except OSError:
                continue
            self.accepts += 1
            c.close()

    def stop(self):
        self._stop.set()
        self.t.join(5)
        self.s.close()


@pytest.fixture
def broker(tmp_path, env):
    b = Broker(tmp_path, {PID: device_password(env.sim), SIM_USER: SIM_PASS})
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def umqtt():
    try:
        return umqtt_src.ensure()
    except umqtt_src.Unavailable as e:
        pytest.skip(str(e))


def attach_inform(env, port):
    from onenet_ota_tools.sim.inform import Inform

    return Inform(env.sim, "127.0.0.1", port, SIM_USER, SIM_PASS).attach()


def first_download(env):
    # The time of the simulator's first package read (a download request), monotonic.
    seen = []
    orig = env.sim.package_bytes

    def package_bytes(pkg):
        if not seen:
            seen.append(time.monotonic())
        return orig(pkg)

    env.sim.package_bytes = package_bytes
    return seen


def start_device(env, sets, monkeypatch, idle):
    # The device in a thread (its boots are processes); returns (thread, result list).
    monkeypatch.setenv("OTA_IDLE_CYCLES", str(idle))
    umqtt_src.install(env.state)  # what mip puts on the board's filesystem
    out = []

    def go():
        try:
            out.append(env.run(sets=sets, heap=MP_HEAP))
        except BaseException as e:  # noqa: B902 (reported by the test)
            out.append(e)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, out


def wait_log(env, text, timeout=20, start=0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if any(text in l for l in env.log[start:]):
            return True
        time.sleep(0.02)
    raise AssertionError("no %r in the device log after %d s\n%s" % (text, timeout, env.logtext()))


def finish(t, out, env, timeout=120):
    t.join(timeout)
    assert not t.is_alive(), "the device did not finish\n" + env.logtext()
    r = out[0]
    if isinstance(r, BaseException):
        raise r
    return r


def mqtt_set(port, **kw):
    m = {"host": "127.0.0.1", "port": port, "keepalive": 30, "connect_ms": 2000, "backoff_s": 1}
    m.update(kw)
    return "mqtt=" + json.dumps(m)


# -- the notification starts the update ------------------------------------------------------

def test_inform_starts_the_update_at_once(env, broker, umqtt, monkeypatch):
    # A fuse-ota and a Studio device, each on both runtimes. check_interval 60 s: only
    # the inform can explain a download within a second.
    inform = attach_inform(env, broker.port)
    dl = first_download(env)
    try:
        img = image(96 * 1024, "V1.4")
        t, out = start_device(env, [env.mqtt_set(broker.port), "check_interval=60"], monkeypatch, idle=2)
        wait_log(env, "mqtt: subscribed $sys/%s/%s/ota/inform" % (PID, DEV))
        t0 = time.monotonic()
        task = env.publish(img, "V1.4")
        s = finish(t, out, env)
        deadline = time.monotonic() + 5
        while not inform.replies and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        inform.stop()
    assert s["result"] == "updated", env.logtext()
    assert s["sink_md5"] == md5(img)
    assert env.task(task["id"])["state"] == "succeeded"
    assert env.codes(task["id"]) == [201]  # the dialects' 100 says "downloaded" (docs/dialects.md)
    assert dl, "no download request"
    latency = dl[0] - t0
    assert latency < START_S, "task created -> first download took %.2f s" % latency
    # the reply: on the device's reply topic, the inform's id, code 200, within the deadline
    sent = [e["detail"]["id"] for e in env.events("inform", task["id"])]
    assert len(sent) == 1 and env.events("inform", task["id"])[0]["detail"]["sent"]
    assert len(inform.replies) == 1, inform.replies
    r = inform.replies[0]
    assert r["topic"] == "$sys/%s/%s/ota/inform_reply" % (PID, DEV)
    assert (r["id"], r["code"], r["msg"], r["known"], r["late"]) == (sent[0], 200, "success", True, False)
    assert json.loads(r["payload"]) == {"id": sent[0], "code": 200, "msg": "success"}
    got = env.events("inform_reply", task["id"])
    assert got and got[0]["detail"]["known"] is True
    # the broker took the device's login: client id = device name, user = product id,
    # password = the device token (mosquitto's password file has only that one)
    assert "as %s (" % DEV in broker.log() and "u'%s'" % PID in broker.log()
    # the token and the key are never logged
    text = env.logtext()
    assert device_password(env.sim) not in text and DKEY not in text and UKEY not in text and "sign=" not in text
    env.log.append("latency %.3f" % latency)
    print("task created -> first download request: %.3f s (%s, %s)" % (latency, env.platform, env.runtime))


# -- MQTT down: polling, with back-off ---------------------------------------------------

@pytest.mark.parametrize("down,platform", [("hangup", "fuse"), ("bad_password", "studio"),
                                           ("refused", "fuse")])
def test_mqtt_down_falls_back_to_polling(env, tmp_path, umqtt, monkeypatch, down):
    # The broker closes every connection (gone) / refuses the login: each wait still
    # ends after check_interval, the next cycle finds the task by polling, and the
    # connects are spaced by the back-off (1 s, 2 s, ... with jitter), not a tight loop.
    hang = b = None
    if down == "hangup":
        hang = Hangup()
        port = hang.port
        count = lambda: hang.accepts  # noqa: E731
    elif down == "refused":  # nothing listens: every connect is refused
        port = free_port()
        count = lambda: len([l for l in env.log if "polling, next try in" in l])  # noqa: E731
    else:
        b = Broker(tmp_path, {PID: "not-the-token"})
        port = b.port
        count = b.connections
    sets = [env.mqtt_set(port)]
    try:
        img = image(64 * 1024, "V1.4")
        t, out = start_device(env, sets + ["check_interval=3"], monkeypatch, idle=3)
        wait_log(env, "polling, next try in")
        t_pub = time.monotonic()
        task = env.publish(img, "V1.4")
        s = finish(t, out, env)
        elapsed = time.monotonic() - t_pub
        n = count()
    finally:
        if hang:
            hang.stop()
        if b:
            b.stop()
    assert s["result"] == "updated", env.logtext()
    assert s["sink_md5"] == md5(img)
    assert env.task(task["id"])["state"] == "succeeded"
    # one wait of 3 s before polling found the task: connects at ~0 s and ~1-1.25 s,
    # maybe one more (the confirm boot waits not at all)
    assert 1 <= n <= 3, "%d connects in one 3 s wait (%s)\n%s" % (n, down, env.logtext())
    fails = [l for l in env.log if "polling, next try in" in l]
    assert len(fails) == n
    if down == "bad_password":
        assert all("login refused (CONNACK 5)" in l for l in fails), fails
    assert "not-the-token" not in env.logtext()
    print("%s: %d connects, update %.1f s after the task (polling)" % (down, n, elapsed))


@pytest.mark.parametrize("platform", ["fuse"])
def test_broker_stopped_after_subscribe(env, tmp_path, umqtt, monkeypatch):
    # Subscribed, then the broker goes away: the device notices (EOF), backs off, and the
    # task created meanwhile is found by the next poll.
    if env.runtime != "cpython":
        pytest.skip("one runtime and dialect are enough for the lifecycle; the wire is covered on all above")
    b = Broker(tmp_path, {PID: device_password(env.sim), SIM_USER: SIM_PASS})
    try:
        img = image(64 * 1024, "V1.4")
        t, out = start_device(env, [env.mqtt_set(b.port), "check_interval=4"], monkeypatch, idle=3)
        wait_log(env, "mqtt: subscribed")
        b.stop()
        wait_log(env, "mqtt: lost")
        n0 = len(env.log)
        task = env.publish(img, "V1.4")
        s = finish(t, out, env)
    finally:
        b.stop()
    assert s["result"] == "updated", env.logtext()
    assert env.task(task["id"])["state"] == "succeeded"
    retries = [l for l in env.log[n0:] if "polling, next try in" in l]
    assert len(retries) <= 3, retries


# -- TLS (the broker's certificate checked against the configured CA) ---------------------

def _openssl(d, *args):
    subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("no openssl CLI to make a throw-away CA")
    d = str(tmp_path_factory.mktemp("mqtt-pki"))
    for ca in ("ca", "other_ca"):
        _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key", "-out",
                 ca + ".pem", "-days", "2", "-subj", "/CN=" + ca)
    with open(os.path.join(d, "srv.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    _openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=mq")
    _openssl(d, "x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "srv.pem", "-days", "2", "-extfile", "srv.ext")
    os.chmod(os.path.join(d, "srv.key"), 0o644)
    return d


@pytest.mark.parametrize("ca,platform", [("ca", "fuse"), ("other_ca", "studio")])
def test_inform_over_tls(env, tmp_path, pki, umqtt, monkeypatch, ca):
    # The device on the broker's TLS listener, verifying it against `ca`: the right CA ->
    # the inform starts the update at once; another CA -> "tls refused", polling updates.
    b = Broker(tmp_path, {PID: device_password(env.sim), SIM_USER: SIM_PASS},
               tls=tuple(os.path.join(pki, f) for f in ("ca.pem", "srv.pem", "srv.key")))
    inform = attach_inform(env, b.port)  # the simulator on the plain listener
    dl = first_download(env)
    good = ca == "ca"
    try:
        img = image(64 * 1024, "V1.4")
        sets = [env.mqtt_set(b.tls_port, tls=True, ca=os.path.join(pki, ca + ".pem")),
                "check_interval=%d" % (60 if good else 3)]
        t, out = start_device(env, sets, monkeypatch, idle=2)
        wait_log(env, "mqtt: subscribed" if good else "mqtt: tls refused")
        t0 = time.monotonic()
        task = env.publish(img, "V1.4")
        s = finish(t, out, env)
    finally:
        inform.stop()
        b.stop()
    assert s["result"] == "updated", env.logtext()
    assert s["sink_md5"] == md5(img)
    text = env.logtext()
    assert "travels in clear" not in text
    if good:
        assert dl[0] - t0 < START_S, "task created -> first download took %.2f s" % (dl[0] - t0)
        assert len(inform.replies) == 1 and inform.replies[0]["known"]
    else:
        assert "mqtt: subscribed" not in text
        assert dl[0] - t0 > 1.0  # found by the next poll (3 s), not by an inform


# -- the simulator's side ----------------------------------------------------------------

def test_inform_spec_and_unreachable_broker(tmp_path):
    from onenet_ota_tools.sim import Simulator
    from onenet_ota_tools.sim.inform import Inform, parse_spec

    assert parse_spec("127.0.0.1:1883") == ("127.0.0.1", 1883, None, None)
    assert parse_spec("u:p@w@localhost:8883") == ("localhost", 8883, "u:p@w".split(":")[0], "p@w")
    for bad in ("localhost", "h:0", "h:x", ":1883"):
        with pytest.raises(ValueError):
            parse_spec(bad)
    sim = Simulator(str(tmp_path / "sim"), port=0)
    try:
        with pytest.raises(OSError, match="MQTT broker 127.0.0.1"):
            Inform(sim, "127.0.0.1", free_port(), timeout=2)
    finally:
        sim.stop()


def test_serve_mqtt_option(tmp_path):
    # `onenet-ota serve --mqtt`: a task created over the admin API (`publish`, and POST
    # /admin/tasks, the page's "create task") for a Studio / fuse-ota device is announced
    # on that device's topic; a legacy device's task is not (no notification there).
    import urllib.request

    import paho.mqtt.client as mqtt

    broker = Broker(tmp_path, {SIM_USER: SIM_PASS})
    got = []
    ready = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="watcher", protocol=mqtt.MQTTv311)
    c.username_pw_set(SIM_USER, SIM_PASS)
    c.on_connect = lambda cl, u, f, rc, p=None: (cl.subscribe("$sys/+/+/ota/inform"), ready.set())
    c.on_message = lambda cl, u, m: got.append((m.topic, m.payload))
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    port = free_port()
    p = subprocess.Popen([os.path.join(os.path.dirname(os.sys.executable), "onenet-ota"), "serve", "--port", str(port),
                          "--state-dir", str(tmp_path / "sim"), "--admin-token", "t" * 20, "--quiet",
                          "--mqtt", "%s:%s@127.0.0.1:%d" % (SIM_USER, SIM_PASS, broker.port)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def admin(path, data, ctype="application/octet-stream"):
        req = urllib.request.Request("http://127.0.0.1:%d/admin/%s" % (port, path), data=data, method="POST",
                                     headers={"Authorization": "Bearer " + "t" * 20, "Content-Type": ctype})
        return json.loads(urllib.request.urlopen(req, timeout=10).read())

    def wait_got(n):
        t0 = time.monotonic()
        while len(got) < n and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        time.sleep(0.3)  # and nothing more comes

    try:
        assert ready.wait(10)
        head = [p.stdout.readline() for _ in range(3)]
        assert any("task notification: MQTT 127.0.0.1:%d" % broker.port in l for l in head), head
        assert not any(SIM_PASS in l for l in head)
        q = "target=V2.0&product_id=%s&access_key=%s&dev_id=%s&platform=studio" % (
            PID, urllib.parse.quote(PKEY, safe=""), DEV)
        t1 = admin("publish?" + q, b"x" * 100)
        wait_got(1)
        # a second device of the product, its task made as the page makes it
        admin("devices", json.dumps({"dev_id": "d1", "product_id": PID, "access_key": PKEY}).encode(),
              "application/json")
        made = admin("tasks", json.dumps({"package_id": t1["package_id"], "target": "V2.0",
                                          "dev_ids": ["d1"]}).encode(), "application/json")
        wait_got(2)
        # a legacy device: its task is created, nothing is published
        q = "target=V2.0&product_id=123123&access_key=%s&dev_id=5001" % urllib.parse.quote(PKEY, safe="")
        t3 = admin("publish?" + q, b"y" * 100)
        wait_got(3)
    finally:
        p.terminate()
        p.wait(10)
        p.stdout.close()
        c.loop_stop()
        broker.stop()
    assert [g[0] for g in got] == ["$sys/%s/%s/ota/inform" % (PID, DEV), "$sys/%s/d1/ota/inform" % PID], got
    assert all(list(json.loads(g[1])) == ["id"] for g in got)
    assert made["tasks"][0]["dev_id"] == "d1" and t3["dev_id"] == "5001"


def test_config_mqtt_checked():
    from onenet_ota import config
    from onenet_ota.errors import ConfigError

    studio = {"product_id": PID, "dev_id": DEV, "access_key": DKEY, "board": "esp32", "platform": "studio"}
    fuse = {"product_id": PID, "dev_id": DEV, "access_key": UKEY, "board": "esp32", "platform": "fuse",
            "user_id": UID}
    assert config.check(dict(studio))["mqtt"] is None  # off by default
    # checked without umqtt.simple at hand (deploy checks a board's config on the host);
    # a device without it says so at start and polls (test_mqtt_fw.py)
    c = config.check(dict(studio, mqtt={"host": "mq.example"}))
    assert c["mqtt"]["port"] == 1883 and c["mqtt"]["keepalive"] == 60 and c["mqtt"]["backoff_s"] == 2
    assert c["mqtt"]["token_version"] == "2018-10-31"  # section 8's form
    assert config.check(dict(fuse, mqtt={"host": "h", "key": DKEY}))["mqtt"]["key"] == DKEY
    for base, bad, msg in (
            (studio, {"host": ""}, "mqtt.host"), (studio, {"host": "h", "port": 0}, "mqtt.port"),
            (studio, {"host": "h", "tls": "yes"}, "mqtt.tls"), (studio, {"host": "h", "x": 1}, "mqtt.x"),
            (studio, {"host": "h", "key": "@@secret@@"}, "mqtt.key"), (studio, "h", "mqtt: a JSON object"),
            (studio, {"host": "h", "backoff_s": 0}, "mqtt.backoff_s"),
            (studio, {"host": "h", "token_version": "2019"}, "mqtt.token_version: 2018-10-31 or 2022-05-01"),
            # fuse's access_key is the account's: it cannot sign the device token
            (fuse, {"host": "h"}, r"mqtt.key: the device key \(access_key is user-level\)"),
            (dict(studio, token_res="product", access_key=PKEY), {"host": "h"}, "access_key is product-level"),
            # legacy: no task notification on that platform
            ({"product_id": "123123", "dev_id": "5001", "access_key": PKEY, "board": "esp32"}, {"host": "h"},
             "mqtt: task notification is a fuse/studio platform feature")):
        with pytest.raises(ConfigError, match=msg) as e:
            config.check(dict(base, mqtt=bad))
        assert "@@secret@@" not in str(e.value) and UKEY not in str(e.value)
