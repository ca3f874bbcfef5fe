# A non-editable install works (issue 17 §3): a wheel built from the clone's tracked
# files (as a fresh clone has them), installed into a new venv (pip --no-deps; the
# pinned dependencies come from this venv's site-packages through a .pth file, so no
# registry is asked), runs `onenet-ota` from another folder with no PYTHONPATH and finds
# its board files, manifests and firmware sources inside the installed package -- and a
# filled-in boards/*/secrets.json in the clone never goes into the wheel.
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "c2VjcmV0LWluLXRoZS1jbG9uZS0xMjM0NTY3OA=="

pytestmark = pytest.mark.timeout(240)


def _builder():
    # A Python with setuptools and wheel (the build backend), without build isolation:
    # that would fetch them from a registry.
    for py in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if py and os.path.exists(py) and subprocess.run(
                [py, "-c", "import setuptools, wheel; import pip"], capture_output=True).returncode == 0:
            return py
    return None


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    builder = _builder()
    if not builder:
        pytest.skip("no Python with setuptools + wheel + pip to build the wheel without a registry")
    if not shutil.which("git") or not os.path.isdir(os.path.join(ROOT, ".git")) and not os.path.isfile(
            os.path.join(ROOT, ".git")):
        pytest.skip("not a git clone")
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for f in files:
        if f and os.path.isfile(os.path.join(ROOT, f)):
            os.makedirs(os.path.dirname(str(src / f)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), str(src / f))
    (src / "boards" / "esp32" / "secrets.json").write_text('{"access_key": "%s"}' % SECRET)
    dist = tmp / "dist"
    p = subprocess.run([builder, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                        "-q", "-w", str(dist), str(src)], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    (whl,) = [str(dist / n) for n in os.listdir(str(dist)) if n.endswith(".whl")]
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    py = str(venv / "bin" / "python")
    p = subprocess.run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q",
                        whl], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(purelib, "deps.pth"), "w") as f:  # the pinned deps, from this venv
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("ONENET_")}
    env["HOME"] = str(tmp)

    def run(*argv):
        return subprocess.run([str(venv / "bin" / "onenet-ota")] + list(argv), cwd=str(work), env=env,
                              capture_output=True, text=True, timeout=120)
    return {"whl": whl, "py": py, "purelib": purelib, "run": run, "work": work, "env": env}


def test_wheel_carries_board_files_not_secrets(installed):
    names = zipfile.ZipFile(installed["whl"]).namelist()
    for need in ("onenet_ota_tools/_root/boards/esp32/config.json",
                 "onenet_ota_tools/_root/boards/esp32/digicert_global_root_ca.pem",
                 "onenet_ota_tools/_root/manifests/onenet-ota-esp32/manifest.py",
                 "onenet_ota_tools/_root/firmware/onenet_ota/agent.py",
                 "onenet_ota_tools/shim/esp32.py", "onenet_ota_tools/qemu/board/manifest.py",
                 "onenet_ota/agent.py"):
        assert need in names, need
    assert not [n for n in names if n.endswith("secrets.json")]
    z = zipfile.ZipFile(installed["whl"])
    assert not [n for n in names if SECRET.encode() in z.read(n)]


def test_installed_cli_reads_its_own_board_files(installed):
    run, purelib = installed["run"], installed["purelib"]
    p = run("--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: onenet-ota") and not p.stderr
    p = subprocess.run([installed["py"], "-c", "import onenet_ota_tools as t; print(t.ROOT)"], capture_output=True,
                       text=True, cwd=str(installed["work"]), env=installed["env"])
    assert p.stdout.strip() == os.path.join(purelib, "onenet_ota_tools", "_root")
    secrets = installed["work"] / "secrets.json"
    secrets.write_text('{"product_id": "198290", "dev_id": "5566", "access_key": "%s", '
                       '"wifi": {"ssid": "lab", "password": "pw"}}' % SECRET)
    p = run("deploy", "--board", "esp32", "--port", "P", "--dry-run", "--secrets", str(secrets),
            "--build-dir", str(installed["work"] / "b"))
    assert p.returncode == 0, p.stderr
    fw = os.path.join(purelib, "onenet_ota_tools", "_root", "firmware", "onenet_ota")
    assert (fw + "/agent.py") in p.stdout and ROOT + os.sep not in p.stdout
    assert os.path.join(purelib, "onenet_ota_tools", "_root", "boards", "esp32", "main.py") in p.stdout
    assert SECRET not in p.stdout + p.stderr
    # without --build-dir the merged config goes under ./build, never into site-packages
    p = run("deploy", "--board", "esp32", "--port", "P", "--dry-run", "--secrets", str(secrets))
    assert p.returncode == 0, p.stderr
    assert "(secrets included, mode 0600): %s" % (installed["work"] / "build" / "esp32" / "config.json") in p.stdout
    p = run("image", "--board", "esp32", "--version", "V1.4", "-o", "fw.bin", "--size", "20000")
    assert p.returncode == 0, p.stderr
    p = run("package", "--board", "esp32", "fw.bin", "--target", "V1.4")
    assert p.returncode == 0 and "version: V1.4" in p.stdout, p.stderr
    p = run("demo", "--runtime", "cpython", "--size", "20000", "--state-dir", "d")
    assert p.returncode == 0 and "task 1: succeeded" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
