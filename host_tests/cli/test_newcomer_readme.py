# The README's seed-walkthrough section, run as written (issue 17 §3): its ```sh block is
# read from README.md (so a README edit that breaks it breaks this test) and run by bash
# in a fresh folder, one `set -e` script, against the simulator it starts itself. The
# only rewrites: port 8080 -> a port found free by binding port 0 (`--local` is
# 127.0.0.1:8080, so it becomes `--server` with that port), and the background `serve`
# is stopped by the script's exit trap. Then: the package downloaded is the one built,
# and the simulator says the task succeeded.
import os
import re
import shutil
import subprocess
import sys

import pytest

from support.cli_env import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECTION = "## The seed's walkthrough, with this CLI"


def readme_block(title=SECTION):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    assert title in text, "README section %r is gone" % title
    sec = text[text.index(title):]
    nxt = sec.find("\n## ", 1)
    sec = sec if nxt < 0 else sec[:nxt]
    m = re.search(r"```sh\n(.*?)```", sec, re.S)
    assert m, "no ```sh block in %r" % title
    return [l for l in m.group(1).splitlines() if l.strip()]


def script(lines, port):
    url = "http://127.0.0.1:%d" % port
    out = ["set -e"]
    for line in lines:
        line = line.replace("--port 8080", "--port %d" % port).replace("--local", "--server " + url)
        out.append("echo '### %s'" % line.split("#")[0].strip().replace("'", ""))
        out.append(line)
        if line.split("#")[0].rstrip().endswith("&"):
            # the README starts the simulator in the background: stop it on exit, and
            # wait (bounded) until it listens, as a person typing the next line would
            out.append("SERVE_PID=$!; trap 'kill $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null' EXIT")
            out.append("for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && break; "
                       "sleep 0.05; done" % port)
    return "\n".join(out) + "\n"


@pytest.mark.skipif(not shutil.which("bash"), reason="bash is needed to run the README's commands")
def test_readme_walkthrough_runs_as_written(tmp_path):
    lines = readme_block()
    joined = "\n".join(lines)
    for needed in ("onenet-ota serve", "onenet-ota image", "onenet-ota publish", "onenet-ota check",
                   "onenet-ota download", "onenet-ota report"):
        assert needed in joined, needed
    # a fresh clone after `make demo`: .venv/ in the folder the commands run from
    os.symlink(sys.prefix, str(tmp_path / ".venv"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONENET_")}
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "tools"), os.path.join(ROOT, "firmware")])
    env["HOME"] = str(tmp_path / "home")
    env.pop("XDG_CONFIG_HOME", None)
    port = free_port()
    p = subprocess.run(["bash", "-c", script(lines, port)], cwd=str(tmp_path), env=env,
                       capture_output=True, text=True, timeout=180)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    assert "Traceback" not in out and "None" not in p.stdout, out[-4000:]
    assert "HTTP 206: bytes 0-5/" in p.stdout
    built = (tmp_path / "fw.bin").read_bytes()
    assert (tmp_path / "got.bin").read_bytes() == built
    assert "verified against the task" in p.stdout
    tasks = p.stdout[p.stdout.rindex("### onenet-ota admin"):]
    assert re.search(r"task 1 +dev 522747162 .* succeeded +target V1.4", tasks), tasks
    # the key is the docs' example one, and still never printed
    key = re.search(r"ONENET_ACCESS_KEY=(\S+)", joined).group(1)
    assert key not in p.stdout.replace("ONENET_ACCESS_KEY=" + key, "")
