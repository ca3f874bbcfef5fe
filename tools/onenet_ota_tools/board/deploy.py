# `deploy`: compile the board's part of the agent (its manifest), merge the board config with its secrets, and copy both
# plus the board's boot.py/main.py to the device with mpremote.
#
# Device layout: /lib/onenet_ota/*.mpy (or *.py with --no-compile), /config.json,
# /boot.py, /main.py. Stale modules in /lib/onenet_ota are removed first, because a
# leftover .py would shadow the new .mpy.
import json
import os

from .. import build_dir as default_build_dir
from . import BOARDS, DEVICE_LIB, ToolError, board_dir, quote, run, tool_name
from . import manifest, mpy

# One line of Python run on the device before copying: create lib/ and lib/onenet_ota/,
# then empty lib/onenet_ota/.
CLEAN = (
    'import os; "lib" in os.listdir() or os.mkdir("lib"); '
    '"onenet_ota" in os.listdir("lib") or os.mkdir("{d}"); '
    '[os.remove("{d}/" + n) for n in os.listdir("{d}")]'
).format(d=DEVICE_LIB)

PLACEHOLDER_PREFIX = "YOUR_"


def load_json(path, what):
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ToolError("%s not found: %s" % (what, path))
    except ValueError as e:
        raise ToolError("%s is not valid JSON: %s: %s" % (what, path, e))
    if not isinstance(data, dict):
        raise ToolError("%s must hold a JSON object: %s" % (what, path))
    return data


def merge(base, over):
    # Deep merge: `over` wins; nested objects are merged key by key.
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def placeholders(cfg, prefix=""):
    # Field paths whose value is still a YOUR_... placeholder.
    found = []
    for k, v in cfg.items():
        name = prefix + k
        if isinstance(v, dict):
            found += placeholders(v, name + ".")
        elif isinstance(v, str) and v.startswith(PLACEHOLDER_PREFIX):
            found.append(name)
    return found


def merged_config(board, config=None, secrets=None):
    # The board config with the secrets merged in; raises ToolError on a missing secrets
    # file or a placeholder left unfilled (named by field, values never shown).
    config = config or os.path.join(board_dir(board), "config.json")
    secrets = secrets or os.path.join(board_dir(board), "secrets.json")
    cfg = load_json(config, "config")
    if not os.path.exists(secrets):
        raise ToolError(
            "secrets file %s not found: copy %s next to it and fill it in (it is git-ignored)"
            % (secrets, os.path.join(os.path.dirname(secrets), "secrets.example.json"))
        )
    example = os.path.join(board_dir(board), "secrets.example.json")
    if os.path.exists(example) and os.path.samefile(secrets, example):
        raise ToolError("--secrets %s is the example file: copy it to secrets.json and put your product's "
                        "values in it" % secrets)
    given = load_json(secrets, "secrets")
    same = example_values(given, load_json(example, "secrets example") if os.path.exists(example) else {})
    if same:
        raise ToolError("%s still holds the example values of %s (from %s): put your product's values in "
                        "(the OneNET console: product id, device id, access key)"
                        % (secrets, ", ".join(same), os.path.basename(example)))
    cfg = merge(cfg, given)
    left = placeholders(cfg)
    if left:
        raise ToolError("config fields still hold placeholders: %s (set them in %s)" % (", ".join(left), secrets))
    check_config(cfg, secrets)
    return cfg


def example_values(given, example, prefix=""):
    # Field paths where the secrets file still holds the example's value (values never shown).
    found = []
    for k, v in given.items():
        e = example.get(k)
        if isinstance(v, dict) and isinstance(e, dict):
            found += example_values(v, e, prefix + k + ".")
        elif e is not None and v == e:
            found.append(prefix + k)
    return found


def check_config(cfg, secrets):
    """The merged config through the agent's own check (onenet_ota.config.check), so a
    board never boots into a config error: a bad product id, a key that is not base64,
    an unknown setting (a typo: said with the closest name). Values are never shown."""
    import difflib

    from onenet_ota import config
    from onenet_ota.errors import ConfigError

    try:
        config.check(dict(cfg))
    except ConfigError as e:
        msg = str(e)
        if msg.endswith(": unknown setting"):
            name = msg.split(":")[0]
            close = difflib.get_close_matches(name, list(dict(config.DEFAULTS)) + ["access_key", "authorization"], n=1)
            if close:
                msg += " (did you mean %s?)" % close[0]
        raise ToolError("%s (merged with %s): %s" % ("config", secrets, msg))


def plan(board, port, build_dir=None, compile=True, config=None, secrets=None):
    # Returns (local_steps, device_steps, config_path, cfg): argv lists, in order.
    info = BOARDS[board]
    build_dir = build_dir or default_build_dir(board)
    cfg = merged_config(board, config, secrets)
    # the modules this board's profile loads (manifests/onenet-ota-<board>/manifest.py)
    sources = manifest.board_sources(board)
    if cfg.get("sink") == "app":  # application updates: the app sink and loader part too
        sources = sorted(set(sources) | set(manifest.board_sources("app")))
    config_path = os.path.join(build_dir, "config.json")
    local = []
    if compile:
        steps = mpy.plan(os.path.join(build_dir, DEVICE_LIB), info["march"], sources)
        local = [argv for _, _, argv in steps]
        modules = [out for _, out, _ in steps]
    else:
        modules = sources
    bdir = board_dir(board)
    entry = [os.path.join(bdir, n) for n in ("boot.py", "main.py") if os.path.exists(os.path.join(bdir, n))]
    mp = [tool_name("mpremote"), "connect", port]
    device = [
        mp + ["exec", CLEAN],
        mp + ["fs", "cp", "-f"] + modules + [":" + DEVICE_LIB + "/"],
        mp + ["fs", "cp", "-f", config_path] + entry + [":"],
    ]
    return local, device, config_path, cfg


def write_config(path, cfg):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(cfg, f, separators=(",", ":"), sort_keys=True)
    os.replace(tmp, path)


def execute(local, device, config_path, cfg, timeout=120, echo=print):
    # Run the plan: compile, write the merged config (mode 0600), then the device steps.
    for argv in local:
        os.makedirs(os.path.dirname(argv[argv.index("-o") + 1]), exist_ok=True)
        run(argv, timeout=60, capture=True)
    write_config(config_path, cfg)
    for argv in device:
        echo("$ " + quote(argv))
        run(argv, timeout=timeout)
