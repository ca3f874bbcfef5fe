# fuse-ota, the current OneNET platform's OTA (onenet-ota-new-api.md §1-7):
# iot-api.heclouds.com/fuse-ota/{pro_id}/{dev_name}/..., answers {"code", "msg",
# "request_id", "data"}. The shared path shape and the download are api_tid.py's.
from .api_tid import Api as _Api, Client, sign  # noqa: F401 (the agent's names)
from .api_tid import check as _check

HOST = "iot-api.heclouds.com"  # §1 (multi); ota.heclouds.com serves the same paths (S11)
# The token's default form (§2.1, §11.1): the user level with 2022-05-01 is the best
# sourced (the official doc example, China Mobile IoT's own demo, captures answered
# code 0); token_res device / token_version 2018-10-31 are the working clients' forms.
RES = "user"
VERSION = "2022-05-01"


def check(cfg, raw):
    _check(cfg, raw, HOST, RES, VERSION)


class Api(_Api):
    PREFIX = "/fuse-ota/"
    KEY = "code"
    MSG = "msg"
    # §5.1: 12012 not exist (multi); 12013 task succ (S5), 12010 type mismatch (S9),
    # 11 and 1178 (S6): all read as "no task" here.
    NO_TASK = (12012, 12013, 12010, 11, 1178)


def make(client, cfg, auth, buf=None):
    return Api(client, cfg, auth, buf=buf)
