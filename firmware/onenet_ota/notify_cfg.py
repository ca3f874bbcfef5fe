# The "mqtt" settings of the task notification (notify.py, docs/mqtt.md): their
# defaults and their check, run at config time (config.check, only when "mqtt" is set):
# a device checks its config without loading the notifier (its socket wrapper, the
# connection and the wait loop), which only the agent's wait between cycles needs.
import sys

from .errors import ConfigError

_MP = sys.implementation.name == "micropython"

MQTT_DEFAULTS = (
    ("host", None),
    ("port", 1883),
    ("keepalive", 60),  # seconds; pinged every keepalive/2 while waiting
    ("tls", False),  # true: TLS, the server verified against "ca" (port default 8883)
    ("ca", None),  # CA certificate file (PEM or DER); default: the config's ca
    ("insecure", None),  # TLS without verifying the server; default: the config's insecure
    ("key", None),  # base64 device key for the password token (default: access_key)
    ("password", None),  # a precomputed password (token) instead of signing one
    ("token_version", "2018-10-31"),  # the password token's version (section 8; or 2022-05-01)
    ("connect_ms", 5000),  # time-out of every socket operation
    ("backoff_s", 2),  # first reconnect wait, doubled per failure
    ("max_backoff_s", 300),
)


# The "mqtt" settings, checked (config.check calls this only when "mqtt" is set, after
# the platform's own check: token_res is known).
def check(cfg):
    m = cfg["mqtt"]
    if cfg["platform"] == "legacy":
        raise ConfigError("mqtt: task notification is a fuse/studio platform feature (legacy has none)")
    if not isinstance(m, dict):
        raise ConfigError("mqtt: a JSON object")
    out = dict(MQTT_DEFAULTS)
    for k in m:
        if k not in out:
            raise ConfigError("mqtt.%s: unknown setting" % k)
        out[k] = m[k]
    h = out["host"]
    if not isinstance(h, str) or not 0 < len(h) <= 128:
        raise ConfigError("mqtt.host: a host name")
    for k, lo, hi in (("port", 1, 65535), ("keepalive", 0, 65535), ("connect_ms", 100, 600000),
                      ("backoff_s", 1, 3600), ("max_backoff_s", 1, 86400)):
        v = out[k]
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ConfigError("mqtt.%s: an integer in %d..%d" % (k, lo, hi))
    if not isinstance(out["tls"], bool):
        raise ConfigError("mqtt.tls: true or false")
    if out["tls"]:
        if "port" not in m:
            out["port"] = 8883
        if out["ca"] is None:
            out["ca"] = cfg["ca"]
        if out["insecure"] is None:
            out["insecure"] = cfg["insecure"]
        if out["ca"] is not None and (not isinstance(out["ca"], str) or not 0 < len(out["ca"]) <= 128):
            raise ConfigError("mqtt.ca: a file name")
        if not isinstance(out["insecure"], bool):
            raise ConfigError("mqtt.insecure: true or false")
        if _MP and not out["ca"] and not out["insecure"]:
            raise ConfigError("mqtt.ca: a CA file to verify the broker with (or insecure)")
    if out["token_version"] not in ("2018-10-31", "2022-05-01"):
        raise ConfigError("mqtt.token_version: 2018-10-31 or 2022-05-01")
    if out["password"] is not None:
        if not isinstance(out["password"], str) or not out["password"]:
            raise ConfigError("mqtt.password: a precomputed token")
    elif out["key"] is not None:
        from .auth import decode_key

        try:
            decode_key(out["key"])
        except ConfigError:
            raise ConfigError("mqtt.key: not base64")  # the value is never shown
    elif not cfg.get("access_key"):
        raise ConfigError("mqtt: key or password (no access_key to sign with)")
    elif cfg["token_res"] != "device":
        # the device token needs the device's key; access_key is the account's / product's
        raise ConfigError("mqtt.key: the device key (access_key is %s-level)" % cfg["token_res"])
    cfg["mqtt"] = out
