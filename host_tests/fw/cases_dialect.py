# The fuse-ota / Studio dialect modules on both runtimes (conftest.run_cases): the token
# forms against the worked example of onenet-ota-new-api.md §2.2, config defaults and
# refusals, and the check answer's validation.
from onenet_ota import api_fuse, api_studio, api_tid, config
from onenet_ota.errors import ConfigError, ProtocolError

KEY = "MTIzNDU2Nzg5MGFiY2RlZg=="  # §2.2's made-up key (ASCII 1234567890abcdef)


def _cfg(**kw):
    raw = {"product_id": "XHm5ltr9qA", "dev_id": "d0", "access_key": KEY}
    raw.update(kw)
    return config.check(raw)


def case_worked_example():
    # §2.2: user level sha1 (2022-05-01), device level sha1 and product level sha256 (2018-10-31)
    return [
        api_tid.token("userid/498670", KEY, 1774161817, "sha1", "2022-05-01"),
        api_tid.token("products/XHm5ltr9qA/devices/d0", KEY, 1924833600, "sha1", "2018-10-31"),
        api_tid.token("products/XHm5ltr9qA", KEY, 1924833600, "sha256", "2018-10-31"),
    ]


def case_config_tokens():
    out = []
    c = _cfg(platform="fuse", user_id=498670)
    out.append([c["host"], c["token_res"], c["token_version"], c["user_id"]])
    out.append(api_fuse.sign(c, 1774161817))
    c = _cfg(platform="studio", method="sha1")
    out.append([c["host"], c["token_res"], c["token_version"]])
    out.append(api_studio.sign(c, 1924833600))
    c = _cfg(platform="fuse", token_res="product", token_version="2018-10-31", method="sha256", host="h.example")
    out.append([c["host"], api_fuse.sign(c, 1924833600)])
    c = _cfg(product_id="123123")
    out.append([c["platform"], c["host"]])
    return out


def case_config_refusals():
    out = []
    for kw in ({"platform": "new"}, {"platform": "fuse"}, {"platform": "fuse", "user_id": "12a"},
               {"platform": "fuse", "token_res": "account", "user_id": 1},
               {"platform": "studio", "token_version": "2020-01-01"},
               {"platform": "fuse", "download_auth": "query", "token_res": "device", "token_version": "2018-10-31"},
               {"platform": "fuse", "download_auth": "cookie", "user_id": 1},
               {"platform": "studio", "product_id": "XH/5"},
               {"product_id": "XHm5ltr9qA"}):
        try:
            _cfg(**kw)
            out.append("accepted")
        except ConfigError as e:
            out.append(str(e))
    return out


def case_parse_task():
    ok = api_tid.parse_task({"target": "v3.0", "tid": 1317438, "size": 8260,
                             "md5": "b54809186a2dd720e80265402e8cb168", "status": 1, "type": 1})
    out = [ok["token"], ok["size"], ok["status"], ok["retry"], ok["interval"], ok["ipPort"]]
    s = api_tid.parse_task({"target": "2.0", "tid": "1290643", "size": 5, "md5": "B54809186A2DD720E80265402E8CB168"})
    out.append([s["token"], s["md5"], s["status"], s["type"]])
    for bad in ({"target": "v3.0", "size": 1, "md5": "0" * 32},
                {"target": "v3.0", "tid": 0, "size": 1, "md5": "0" * 32},
                {"target": "v3.0", "tid": 5, "size": 1, "md5": "0" * 32, "status": 4},
                {"target": "v 3", "tid": 5, "size": 1, "md5": "0" * 32}, "x"):
        try:
            api_tid.parse_task(bad)
            out.append("accepted")
        except ProtocolError as e:
            out.append(str(e))
    return out
