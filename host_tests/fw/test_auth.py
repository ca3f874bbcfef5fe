import base64
import hashlib
import hmac

import pytest

from conftest import RUNTIMES, run_cases

DOC_KEY = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="


def reference(pid, key, et, method):
    msg = "%d\n%s\nproducts/%s\n2018-10-31" % (et, method, pid)
    sig = base64.b64encode(hmac.new(base64.b64decode(key), msg.encode(), method).digest())
    enc = sig.decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    return "version=2018-10-31&res=products%%2F%s&et=%d&method=%s&sign=%s" % (pid, et, method, enc)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_auth_cases(runtime):
    r = run_cases("cases_auth", runtime, heap="32k")
    assert r["case_doc_example_all_methods"] == [
        reference("123123", DOC_KEY, 1537255523, m) for m in ("md5", "sha1", "sha256")
    ]
    assert r["case_quote_documented_set"] == "a%2Bb%20c%2Fd%3Fe%25f%23g%26h%3Di"
    assert r["case_bad_keys_rejected"] == ["access_key: not base64"] * 5
