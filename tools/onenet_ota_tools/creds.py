# Where the platform calls get their server, product, key and device from.
#
# Precedence, for each value on its own: command-line flag > environment variable >
# config file. The config file is `--config FILE` (must exist), else
# $XDG_CONFIG_HOME/onenet-ota/config.json (default ~/.config/onenet-ota/config.json) when
# it exists. It is a JSON object with the environment variables' names in lower case
# (`onenet_server`, ...); the `onenet_` prefix may be left out (`server`, ...).
#
# The access key is only ever used to compute the Authorization value; it is never put
# in a message, a repr or an output.
import json
import os
import stat
import time

from onenet_ota import auth
from onenet_ota.errors import ConfigError

PRODUCTION = "http://ota.heclouds.com"
LOCAL = "http://127.0.0.1:8080"
FIELDS = ("server", "product_id", "access_key", "dev_id", "authorization")
ENV = {f: "ONENET_" + f.upper() for f in FIELDS}
DEFAULT_TTL = 3600  # seconds an Authorization computed here stays valid

PRECEDENCE_HELP = """\
credentials and device: each of server, product id, access key, dev_id, authorization
comes from (first wins) the flag, the environment variable (ONENET_SERVER,
ONENET_PRODUCT_ID, ONENET_ACCESS_KEY, ONENET_DEV_ID, ONENET_AUTHORIZATION), or the
config file (--config FILE, else ~/.config/onenet-ota/config.json if it exists; JSON
with the same names in lower case, e.g. {"onenet_product_id": "198290", ...}; the
"onenet_" prefix is optional). Prefer the environment or the file for the access key:
flags are visible to other users in the process list. The key is never printed.
--server defaults to the production endpoint %s; --local means %s
(the simulator's default, `onenet-ota serve`).""" % (PRODUCTION, LOCAL)


class CredsError(Exception):
    pass


def default_config_path():
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "onenet-ota", "config.json")


def load_config(path=None):
    """-> (dict of FIELDS found, path used or None)."""
    explicit = path is not None
    if not explicit:
        path = default_config_path()
        if not os.path.isfile(path):
            return {}, None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block open(), a device never end
            raise CredsError("config %s: not a regular file" % path)
        with open(path, encoding="utf-8") as f:
            raw = json.loads(f.read(1 << 20))
    except OSError as e:
        raise CredsError("config %s: %s" % (path, e.strerror or e))
    except ValueError as e:
        raise CredsError("config %s: not JSON (%s)" % (path, e))
    if not isinstance(raw, dict):
        raise CredsError("config %s: expected a JSON object" % path)
    out = {}
    for k, v in raw.items():
        key = k.lower()
        if key.startswith("onenet_"):
            key = key[7:]
        if key in FIELDS and v is not None:
            out[key] = str(v)
    return out, path


class Creds:
    """Resolved values plus where each came from (`source[field]`: flag/env/config)."""

    def __init__(self, values, source, config_path):
        self.server = values.get("server") or PRODUCTION
        self.product_id = values.get("product_id")
        self._key = values.get("access_key")
        self.dev_id = values.get("dev_id")
        self.given_authorization = values.get("authorization")
        self.source = source
        self.config_path = config_path

    def __repr__(self):  # never the key
        return "Creds(server=%r, product_id=%r, dev_id=%r, access_key=%s)" % (
            self.server, self.product_id, self.dev_id, "***" if self._key else None)

    @property
    def has_key(self):
        return bool(self._key)

    def authorization(self, method="sha1", et=None, ttl=DEFAULT_TTL):
        """The Authorization value: given directly, or computed from product id + key."""
        if self.given_authorization:
            return self.given_authorization
        missing = [n for n, v in (("--product-id", self.product_id), ("--access-key", self._key)) if not v]
        if missing:
            raise CredsError("no credentials: give %s (or ONENET_PRODUCT_ID / ONENET_ACCESS_KEY, a "
                             "config file, or --authorization)" % " and ".join(missing))
        if et is None:
            et = int(time.time()) + ttl
        try:
            return auth.token(self.product_id, self._key, int(et), method)
        except ConfigError as e:
            raise CredsError(str(e))


def resolve(flags, env=None, config=None):
    """flags: dict field -> value or None (from argparse); env: os.environ by default;
    config: path given with --config or None. -> Creds."""
    env = os.environ if env is None else env
    file_values, path = load_config(config)
    values, source = {}, {}
    for f in FIELDS:
        if flags.get(f):
            values[f], source[f] = str(flags[f]), "flag"
        elif env.get(ENV[f]):
            values[f], source[f] = env[ENV[f]], "env"
        elif file_values.get(f):
            values[f], source[f] = file_values[f], "config"
    return Creds(values, source, path)


def shown(url):
    """A --server value fit for an error message: not echoed when it could hold a secret
    (user info, a query, a fragment) or is long."""
    if any(c in url for c in "@?#") or len(url) > 120:
        return "(value not shown)"
    return repr(url)


def parse_server(url):
    """'http://host[:port]' or 'https://…' or 'host[:port]' -> (host, port, tls)."""
    u = url.strip()
    tls = False
    if "://" in u:
        scheme, u = u.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise CredsError("server %s: http:// or https:// only" % shown(url))
        tls = scheme == "https"
    u = u.split("/", 1)[0]
    host, port = u, 443 if tls else 80
    if u.startswith("["):
        raise CredsError("server %s: IPv6 literals are not supported" % shown(url))
    if ":" in u:
        host, p = u.rsplit(":", 1)
        if not p.isdigit() or not 0 < int(p) < 65536:
            raise CredsError("server %s: bad port" % shown(url))
        port = int(p)
    if not host:
        raise CredsError("server %s: no host" % shown(url))
    return host, port, tls
