# Scale: 200 concurrent simulated devices (threads, loopback), each downloading a package
# in ranges on one keep-alive connection. Asserts zero errors and every byte correct
# (inside sim.load), one connection per device; prints the figure, asserts no speed.
from onenet_ota_tools.sim import load


def test_200_devices(capsys):
    res = load.run(devices=200, size=32 * 1024, chunk=2048, timeout=60)
    with capsys.disabled():
        print("\nsim load: %(devices)d devices, %(requests)d requests in %(seconds)ss = "
              "%(requests_per_s)s requests/s, %(bytes_per_s)s B/s, errors %(errors)s" % res)
    assert res["errors"] == []
    assert res["succeeded"] == 200
    assert res["connections"] == 200  # one connection per update
    assert res["requests"] == 200 * (2 + 16 + 2)
