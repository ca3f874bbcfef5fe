# OneNET Studio OTA (onenet-ota-new-api.md §9): studio-ota.heclouds.com/ota/{pro_id}/
# {dev_name}/..., answers {"errno", "error", "data"} like the legacy API. The shared
# path shape and the download (Ota-Errno, Content-Range-Start/End of T3) are api_tid.py's.
from .api_tid import Api as _Api, Client, sign  # noqa: F401 (the agent's names)
from .api_tid import check as _check

HOST = "studio-ota.heclouds.com"  # §9.2
# §9.4: both China Mobile SDKs (T1, T3) sign a device-level 2018-10-31 token.
RES = "device"
VERSION = "2018-10-31"


def check(cfg, raw):
    _check(cfg, raw, HOST, RES, VERSION)


class Api(_Api):
    PREFIX = "/ota/"
    KEY = "errno"
    MSG = "error"
    NO_TASK = (10,)  # §9.3: errno 10 no task (T3)


def make(client, cfg, auth, buf=None):
    return Api(client, cfg, auth, buf=buf)
