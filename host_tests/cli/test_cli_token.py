# `onenet-ota token` against CPython's hmac, through the installed console script.
import base64
import hashlib
import hmac
import os
import subprocess
import sys

import pytest

from onenet_ota_tools.cli import main

KEY = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="
SCRIPT = os.path.join(os.path.dirname(sys.executable), "onenet-ota")


def expected(pid, key, et, method):
    msg = "%d\n%s\nproducts/%s\n2018-10-31" % (et, method, pid)
    sig = base64.b64encode(hmac.new(base64.b64decode(key), msg.encode(), getattr(hashlib, method)).digest())
    sign = sig.decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    return "version=2018-10-31&res=products%%2F%s&et=%d&method=%s&sign=%s" % (pid, et, method, sign)


@pytest.mark.parametrize("method", ["md5", "sha1", "sha256"])
def test_token_matches_hmac(method):
    out = subprocess.run([SCRIPT, "token", "--product-id", "123123", "--access-key", KEY,
                          "--et", "1537255523", "--method", method],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == expected("123123", KEY, 1537255523, method)
    assert KEY not in out.stdout + out.stderr


def test_bad_key_one_line_exit_2(capsys):
    assert main(["token", "--product-id", "1", "--access-key", "not base64!"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "onenet-ota token: access_key: not base64"


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for c in ("demo", "token", "serve", "publish", "device", "check", "download", "deploy", "flash", "package"):
        assert "\n  %s " % c in out
