# ESP32 host + GD32 target end to end: the agent stages the package in a file, then
# programs the simulated MCU through the AN3155 bootloader simulator (blsim.py) and
# verifies it by read-back before committing; 201 only after that. Both runtimes,
# four fault cases, and both erase commands / write sizes.
import pytest

from onenet_ota_tools.blsim import BootloaderSim
from support.agent_env import AgentEnv, image, md5

SIZE = 40 * 1024
SETS = ("timeout_ms=3000", "chunk=2048", 'gd32={"timeout_ms": 300}')
CASES = {
    "nack": (["nack=1", "after=20"], "nacks"),
    "timeout_mid_write": (["timeout_write=1", "after=20"], "timeouts"),
    "bad_checksum": (["bad_checksum=1", "after=30"], "bad_checksums"),
    "reset_mid_programming": (["reset_after=25"], "resets"),
    "gd32_240_erase43": (["write_max=240", "erase_cmd=0x43"], None),
}




@pytest.mark.parametrize("case", sorted(CASES))
def test_update_through_bootloader(env, case):
    faults, stat = CASES[case]
    data = image(SIZE, "V1.4")
    t = env.publish(data, "V1.4", manuf="103", model="10301")
    args = env.args(SETS, board="gd32")
    args.sim_fault = faults
    from onenet_ota_tools.commands import device

    s = device.run_device(args, log=env.log.append)
    log = env.logtext()
    assert s["result"] == "updated" and s["code"] == 201, (s, log)
    assert s["sink_md5"] == md5(data)  # read back from the simulated MCU flash
    assert env.codes(t["id"]) == [101, 201]
    mcu = s["mcu"]
    assert mcu["go"] == 0x08000000
    if stat:
        assert mcu[stat] >= 1 and "gd32: attempt 1" in log, (mcu, log)
    else:
        assert mcu["writes"] == -(-SIZE // 240)


def test_not_programmed_is_206(tmp_path):
    # Every attempt fails (the MCU NACKs every write): the agent reports 206 and the
    # platform never sees 201.
    env = AgentEnv(tmp_path, "cpython")
    try:
        data = image(8 * 1024, "V1.4")
        t = env.publish(data, "V1.4", manuf="103", model="10301", retry=0)
        args = env.args(SETS, board="gd32")
        args.sim_fault = ["nack=99"]
        from onenet_ota_tools.commands import device

        s = device.run_device(args, log=env.log.append)
        assert s["result"] == "failed" and s["code"] == 206, (s, env.logtext())
        assert 201 not in env.codes(t["id"])
    finally:
        env.stop()


def test_blsim_erase_and_alignment():
    import socket

    with BootloaderSim(pages=4, page_size=1024, erase_cmd=0x43) as sim:
        c = socket.create_connection(("127.0.0.1", sim.port), timeout=2)
        try:
            def x(*b):
                c.sendall(bytes(b))
                return c.recv(300)

            assert x(0x7F) == b"\x79"
            assert x(0x7F) == b"\x1f"  # already synced
            assert x(0x44, 0xBB) == b"\x1f"  # this part has Erase 0x43 only
            a = [0x08, 0, 0, 2]
            assert x(0x31, 0xCE) == b"\x79"
            assert x(*a, a[0] ^ a[1] ^ a[2] ^ a[3]) == b"\x79"
            assert x(3, 1, 2, 3, 4, 3 ^ 1 ^ 2 ^ 3 ^ 4) == b"\x1f"  # address not 4-aligned
            sim.flash[0:4] = b"\x00\x00\x00\x00"
            assert x(0x43, 0xBC) == b"\x79"
            assert x(0, 0, 0) == b"\x79"  # erase page 0
            assert sim.flash[0:4] == b"\xff" * 4
        finally:
            c.close()
