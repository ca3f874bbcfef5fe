# Agent configuration: boards/<board>/config.json merged with overrides, checked
# field by field. A bad value raises ConfigError naming the field; a secret's value
# never appears in a message.
from .errors import ConfigError

# Board profiles: the board's name and the module (onenet_ota.<module>) that owns its
# defaults (DEFAULTS: manuf/model of the contract's SOTA table, sink, chunk, its own
# settings), its checks (check(cfg)) and its board class (make(cfg)). Names only: the
# core imports no profile; profile() loads the one a config names (an optional part,
# installed only on its board). The host tools read this table too (board/__init__.py).
PROFILES = (
    ("esp32", "board_esp32"),
    ("nrf52832", "board_nrf52"),
    ("gd32", "board_gd32"),
    ("unix", "board"),
)

# Every setting of every board with its default (a profile adds its own and its
# defaults). A tuple of constant pairs, not a dict: frozen, it stays in flash; check()
# makes the one dict a device keeps.
DEFAULTS = (
    ("board", "unix"),
    ("host", "ota.heclouds.com"),
    ("port", 80),
    ("tls", False),
    ("ca", None),  # the CA certificate file (PEM) the server's chain must end in
    ("insecure", False),  # true: TLS without verifying the server (said at every start)
    ("image_key", None),  # base64 key: only packages carrying its MAC are installed (imgauth.py)
    ("image_auth", "hmac-sha256"),  # or hmac-sha1 (ports without sha256)
    ("task_type", 2),  # 1 FOTA (module firmware), 2 SOTA (application)
    ("method", "sha1"),
    ("et", 4102444800),  # far future (2100-01-01): for a device without a clock
    ("et_ttl", 0),  # > 0: et = now + ttl when the clock is known
    ("version", "V1.0"),  # version before the first update
    ("version_file", "ota_version.txt"),  # where the running version is kept (+ ".sent")
    ("report_version", "changed"),  # report the version when it changed, or "always"
    ("sink", "file"),  # file, esp32, block or app (the profile's default)
    ("sink_path", "ota_package.bin"),
    ("capacity", 0),  # file sink: 0 = no limit (app sink: the filesystem's free space)
    ("app_root", "apps"),  # app sink: the folder of the app folders a/, b/ and the pointer
    ("app_selftest_ms", 5000),  # app sink: the app's selftest() must pass within this
    ("chip_id", 0),  # esp32 sink: 0 ESP32, 2 S2, 5 C3, 9 S3, ...
    ("chunk", 4096),  # the one download buffer (read, digest, sink write; the profile's default)
    ("request", 0),  # bytes one Range request asks for; 0: all that is left (bytes=start-)
    ("journal", "ota.jrn"),
    ("journal_every", 16384),  # bytes between journal writes
    ("progress_every", 10),  # percent between progress reports (0: none)
    ("check_interval", 3600),  # seconds between checks (main loop)
    ("timeout_ms", 10000),
    ("retries", 3),  # per request
    ("backoff_ms", 500),  # first retry wait, doubled each time, with jitter
    ("max_retry", 10),  # cap on the task's retry (the server's word is not unbounded)
    ("max_interval", 3600),  # cap on the task's interval, seconds
    ("conn_requests", 1000),  # requests per connection: the platform closes after 1000 (§10)
    ("pause_waits", 10),  # paused task: waits of `interval` before giving up this cycle
    ("max_boots", 3),  # boots of a new image without confirmation before giving up
    ("cdn", True),
    ("self_test", None),  # module name with run() -> bool, called before confirming
    ("signal", None),  # fixed signal strength to report and check (None: unknown)
    ("power", None),  # fixed battery % to report and check (None: unknown)
    ("wifi", None),  # {"ssid", "password", "timeout_s"}: the board joins before a cycle
    ("mqtt", None),  # {"host", "port", "keepalive", ...}: task notification (notify.py, docs/mqtt.md)
    # The platform's dialect (docs/dialects.md): legacy (ota/south), fuse (fuse-ota), studio.
    ("platform", "legacy"),
    ("token_res", None),  # fuse/studio: product | device | user (None: the dialect's default)
    ("token_version", None),  # fuse/studio: 2018-10-31 | 2022-05-01 (None: the dialect's)
    ("user_id", None),  # token_res user: the account's id (access_key is then its key)
    ("download_auth", "header"),  # fuse: header | query (the token in the download URL)
)


_REQUIRED = ("product_id", "dev_id")


# Checks profiles share (board_*.py, uart.py): ConfigError names the field.
def check_int(cfg, k, lo, hi):
    v = cfg[k]
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ConfigError("%s: an integer in %d..%d" % (k, lo, hi))


def _str(cfg, k, chars=None, hi=64):
    v = cfg[k]
    if not isinstance(v, str) or not 0 < len(v) <= hi:
        raise ConfigError("%s: a string of 1..%d characters" % (k, hi))
    if chars:
        for ch in v:
            if ch not in chars:
                raise ConfigError("%s: bad character" % k)


_DIGITS = "0123456789"
_HOST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:"


# dict -> complete, checked dict (defaults filled in).
def check(raw):
    if not isinstance(raw, dict):
        raise ConfigError("config: a JSON object")
    prof = profile(raw.get("board", "unix"))
    cfg = dict(DEFAULTS)
    cfg.update(prof.DEFAULTS)
    for k in raw:
        v = raw[k]
        if k not in cfg and k not in _REQUIRED and k not in ("access_key", "authorization"):
            if v is None:
                continue  # null is the default: a setting another board has, left unset
            raise ConfigError("%s: unknown setting" % k)
        cfg[k] = v
    for k in _REQUIRED:
        if k not in raw:
            raise ConfigError("%s: required" % k)
    cfg["product_id"] = str(cfg["product_id"])
    cfg["dev_id"] = str(cfg["dev_id"])
    p = cfg["platform"]
    if p not in ("legacy", "fuse", "studio"):
        raise ConfigError("platform: legacy, fuse or studio")
    _str(cfg, "product_id", _DIGITS if p == "legacy" else None, 20)  # fuse/studio: below
    _str(cfg, "dev_id", _DIGITS + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-.", 32)
    cfg["manuf"] = str(cfg["manuf"])
    cfg["model"] = str(cfg["model"])
    _str(cfg, "manuf", _DIGITS, 8)
    _str(cfg, "model", _DIGITS, 8)
    if cfg["sink"] not in ("esp32", "file", "block", "app"):
        raise ConfigError("sink: esp32, file, block or app")
    if cfg["sink"] == "app":
        try:
            from . import app_board  # noqa: F401 (an optional part: fail here, not mid-update)
        except ImportError:
            raise ConfigError("sink: app needs the onenet-ota-app part (manifests/)")
    key, auth = cfg.get("access_key"), cfg.get("authorization")
    if bool(key) == bool(auth):
        raise ConfigError("access_key or authorization: exactly one of them")
    if key:
        from .auth import decode_key

        decode_key(key)  # ConfigError("access_key: not base64"), value not shown
    elif not isinstance(auth, str) or "sign=" not in auth or "\n" in auth or "\r" in auth:
        raise ConfigError("authorization: a precomputed Authorization value")
    if cfg["method"] not in ("md5", "sha1", "sha256"):
        raise ConfigError("method: md5, sha1 or sha256")
    _str(cfg, "host", _HOST, 128)  # keeps every request within http._REQ
    check_int(cfg, "port", 1, 65535)
    check_int(cfg, "task_type", 1, 2)
    if cfg["report_version"] not in ("changed", "always"):
        raise ConfigError("report_version: changed or always")
    if not isinstance(cfg["tls"], bool):
        raise ConfigError("tls: true or false")
    if cfg["ca"] is not None:
        _str(cfg, "ca", None, 128)  # the CA certificate's file (PEM or DER)
    if not isinstance(cfg["insecure"], bool):
        raise ConfigError("insecure: true or false")
    if cfg["image_key"] is not None:
        from .auth import decode_key

        try:
            if len(decode_key(cfg["image_key"])) < 16:
                raise ConfigError("")
        except ConfigError:  # the key's value is never shown
            raise ConfigError("image_key: base64 of at least 16 bytes")
        if cfg["image_auth"] not in ("hmac-sha256", "hmac-sha1"):
            raise ConfigError("image_auth: hmac-sha256 or hmac-sha1")
        try:
            from . import imgauth  # noqa: F401 (an optional part: fail here, not mid-update)
        except ImportError:
            raise ConfigError("image_key: install the onenet-ota-imgauth part (manifests/)")
    check_int(cfg, "et_ttl", 0, 10 * 365 * 86400)
    if not isinstance(cfg["et"], int) or cfg["et"] < 0:
        raise ConfigError("et: unix seconds")
    from .api import check_version

    try:
        check_version(cfg["version"])
    except ConfigError:
        raise ConfigError("version: 1..20 of A-Z a-z 0-9 _ . -")
    check_int(cfg, "chunk", 512, 65536)
    check_int(cfg, "request", 0, 1 << 30)
    if cfg["request"] and cfg["request"] < cfg["chunk"]:
        raise ConfigError("request: 0 (the rest of the package) or at least chunk (%d)" % cfg["chunk"])
    check_int(cfg, "journal_every", cfg["chunk"], 1 << 24)
    check_int(cfg, "progress_every", 0, 99)
    check_int(cfg, "check_interval", 1, 7 * 86400)
    check_int(cfg, "timeout_ms", 100, 600000)
    check_int(cfg, "retries", 0, 20)
    check_int(cfg, "backoff_ms", 0, 600000)
    check_int(cfg, "pause_waits", 0, 1000)
    check_int(cfg, "max_retry", 0, 1000)
    check_int(cfg, "max_interval", 0, 86400)
    check_int(cfg, "conn_requests", 1, 100000)
    check_int(cfg, "max_boots", 1, 20)
    check_int(cfg, "capacity", 0, 1 << 30)
    check_int(cfg, "app_selftest_ms", 1, 600000)
    check_int(cfg, "chip_id", 0, 0xFFFF)
    for k in ("signal", "power"):
        if cfg[k] is not None:
            check_int(cfg, k, -200, 200)
    w = cfg["wifi"]
    if w is not None and (not isinstance(w, dict) or not isinstance(w.get("ssid"), str)):
        raise ConfigError("wifi: {\"ssid\": …, \"password\": …}")
    for k in ("journal", "version_file", "sink_path", "app_root"):
        _str(cfg, k, None, 128)
    prof.check(cfg)  # the board's own settings
    if p != "legacy":
        try:
            if p == "fuse":
                from .api_fuse import check as more
            else:
                from .api_studio import check as more
        except ImportError:
            raise ConfigError("platform %s: install the onenet-ota-%s part (manifests/)" % (p, p))
        more(cfg, raw)
    if cfg["mqtt"] is not None:  # after the platform's check: its token_res decides the key
        from .notify_cfg import check as more

        more(cfg)
    return cfg


def merge(v, defaults, field):
    # A settings object merged over its defaults; unknown keys named.
    if not isinstance(v, dict):
        raise ConfigError("%s: a JSON object" % field)
    out = dict(defaults)  # defaults: a tuple of pairs (stays in flash)
    for k in v:
        if k not in out:
            raise ConfigError("%s.%s: unknown setting" % (field, k))
        out[k] = v[k]
    return out


# The profile module of a board (config errors name the board when there is none).
def profile(board):
    for name, mod in PROFILES:
        if board == name:
            try:
                return __import__("onenet_ota." + mod, None, None, ("make",))
            except ImportError:
                raise ConfigError("board: install the onenet-ota-%s part (manifests/)" % name)
    raise ConfigError("board: one of " + ", ".join(p[0] for p in PROFILES))


# Read a JSON config file (json, or jsonlite where the port has none) and check it.
def load(path, overrides=None):
    try:
        f = open(path)
    except OSError:
        raise ConfigError("config: cannot open " + path)
    try:
        text = f.read()
    finally:
        f.close()
    try:
        from json import loads
    except ImportError:
        from .jsonlite import loads
    try:
        raw = loads(text)
    except Exception:
        raise ConfigError("config: not valid JSON")
    del text
    if overrides:
        raw.update(overrides)
    _collect()  # the parse's garbage first: the checked dict is laid down after it
    raw = check(raw)
    _collect()  # the text and the parse's garbage go before long-lived objects follow
    return raw


# A collection between phases: what stays is packed at the bottom of the heap (an
# automatic one comes only when the heap is full, and by then what stays is spread
# over all of it, leaving no run free for a 1-2 KiB buffer).
def _collect():
    try:
        import gc

        gc.collect()
    except ImportError:
        pass
