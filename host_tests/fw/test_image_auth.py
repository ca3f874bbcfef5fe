# Package authenticity (firmware/onenet_ota/imgauth.py, docs/security.md): with an
# image_key in its config the device installs only packages that carry the key's MAC in
# their trailer (`onenet-ota sign`), on both runtimes; anything else is refused with 206
# before it is committed, and the old image keeps booting.
import base64
import os

import pytest

from onenet_ota_tools.commands.sign import sign
from support.agent_env import DEV, image, md5

KEY = bytes(range(32))
KEY_B64 = base64.b64encode(KEY).decode()
OTHER = base64.b64encode(bytes(range(1, 33))).decode()


def _ok(env, s, result):
    assert s["result"] == result, "summary %s\n%s" % (s, env.logtext())


def _refused(env, s, t):
    _ok(env, s, "failed")
    assert s["code"] == 206 and env.codes(t["id"]) == [206], s
    st = env.otadata()
    assert st.get("boot", "") in ("", "ota_0"), st  # nothing committed
    assert "not signed with this device's image_key" in env.logtext()
    assert KEY_B64 not in env.logtext()


def test_signed_package_installs(env):
    data = sign(image(96 * 1024, "V1.4"), KEY)
    t = env.publish(data, "V1.4")
    s = env.run(sets=["image_key=" + KEY_B64])
    _ok(env, s, "updated")
    assert s["sink_md5"] == md5(data) and env.codes(t["id"]) == [101, 201]
    assert "package signature ok" in env.logtext()
    assert KEY_B64 not in env.logtext()


@pytest.mark.parametrize("how", ["unsigned", "other_key", "flipped_byte", "wrong_length", "sha1_trailer"])
def test_anything_else_is_refused_before_commit(env, how):
    img = image(96 * 1024, "V1.4")
    if how == "unsigned":
        data = img
    elif how == "other_key":
        data = sign(img, base64.b64decode(OTHER))
    elif how == "flipped_byte":
        d = bytearray(sign(img, KEY))
        d[1000] ^= 1  # the md5 the platform hands out is of these bytes: only the MAC can tell
        data = bytes(d)
    elif how == "wrong_length":
        d = bytearray(sign(img, KEY))
        d[-8] ^= 1  # the signed length in the trailer
        data = bytes(d)
    else:
        data = sign(img, KEY, "hmac-sha1")  # a trailer of another algorithm
    t = env.publish(data, "V1.4")
    s = env.run(sets=["image_key=" + KEY_B64])
    _refused(env, s, t)


def test_signature_holds_across_a_broken_download(env):
    # The MAC is rebuilt from the sink on resume, like the md5.
    data = sign(image(192 * 1024, "V1.4"), KEY)
    t = env.publish(data, "V1.4", retry=2, interval=0)
    env.sim.fault(DEV, drop_after=100 * 1024)
    s = env.run(sets=["image_key=" + KEY_B64, "chunk=4096"])
    _ok(env, s, "updated")
    assert s["sink_md5"] == md5(data) and env.codes(t["id"]) == [101, 201]


def test_hmac_sha1_for_ports_without_sha256(env):
    data = os.urandom(40000)
    signed = sign(data, KEY, "hmac-sha1")
    t = env.publish(signed, "V1.4", manuf="100", model="10001")
    dst = os.path.join(env.tmp, "pkg.bin")
    s = env.run(board="unix", sink="file:" + dst, sets=["image_key=" + KEY_B64, "image_auth=hmac-sha1"])
    _ok(env, s, "updated")
    with open(dst, "rb") as f:
        assert f.read() == signed


def test_a_bad_image_key_is_a_config_error_that_hides_it(env):
    env.publish(image(32 * 1024, "V1.4"), "V1.4")
    with pytest.raises(AssertionError) as e:
        env.run(sets=["image_key=c2hvcnQ="])  # 5 bytes
    assert "image_key: base64 of at least 16 bytes" in str(e.value)
    assert "c2hvcnQ=" not in str(e.value)


def test_sign_cli(cli, tmp_path):
    src = tmp_path / "fw.bin"
    src.write_bytes(b"\xe9" + bytes(5000))
    rc, out, err = cli("sign", str(src), "--key", KEY_B64)
    assert rc == 0, err
    signed = (tmp_path / "fw.bin.signed").read_bytes()
    assert signed == sign(src.read_bytes(), KEY) and KEY_B64 not in out + err
    for argv, msg in ((("sign", str(src)), "--key"), (("sign", str(src), "--key", "!!"), "not base64"),
                      (("sign", str(tmp_path / "none.bin"), "--key", KEY_B64), "cannot read")):
        rc, out, err = cli(*argv)
        assert rc == 2 and msg in err and "Traceback" not in err, (argv, err)
    rc, out, _ = cli("sign", "--new-key")
    assert rc == 0 and len(base64.b64decode(out.strip())) == 32
