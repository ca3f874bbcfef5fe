# The app loader: which application folder runs, counted boots, rollback of a new app
# that never confirms. Tiny and self-contained (imports only os and sys, both built
# in), so a broken agent or a broken app can never stop it from choosing an app.
#
# Apps live in <root>/a and <root>/b (app bundles, sink_app.py). Which one runs is a
# pointer record, kept in two files <root>/ptr0 and <root>/ptr1: a record is one line
#   OAP1 <seq> <cur> <prev> <state> <boots> <max> <sum>
# and the valid one with the highest seq wins. A write goes to the other file (never
# over the record in force), so a power cut at any point leaves the old record or the
# new one: a torn line fails its sum and is ignored. No rename is needed: littlefs2
# rename replaces its target atomically, but FAT's (oofatfs f_rename) fails when the
# target exists, and a remove-then-rename would leave a moment with no pointer.
#
# state: "ok" (confirmed), "new" (on trial: each boot counted; after <max> boots the
# loader goes back to <prev>: "crash"), "fail" (the agent rolled back after a failed
# self-test), "crash".
#
#   from onenet_ota import apprun
#   app = apprun.boot()          # count this boot, roll back a crash loop -> folder or None
#   ... one agent cycle (confirms a new app: self-test, 201) ...
#   apprun.start(app)            # import the app's entry module and call its main()
import os
import sys

_ROOT = "apps"


def _sum(s):
    h = 5381
    for ch in s:
        h = (h * 33 + ord(ch)) & 0xFFFFFF
    return h


def _read(path):
    try:
        f = open(path)
    except OSError:
        return None
    try:
        return f.read(200)
    finally:
        f.close()


# Every change of the pointer: a whole new file next to the record in force.
def _write(path, data):
    f = open(path, "w")
    try:
        f.write(data)
    finally:
        f.close()


def _parse(t):
    if not t or t[-1:] != "\n":
        return None
    w = t.split()
    if len(w) != 8 or w[0] != "OAP1":
        return None
    head = t[: t.rfind(" ")]
    try:
        if int(w[7], 16) != _sum(head):
            return None
        r = (int(w[1]), w[2], w[3], w[4], int(w[5]), int(w[6]))
    except ValueError:
        return None
    if r[1] not in ("a", "b") or r[2] not in ("a", "b", "-"):
        return None
    return r


# The pointer record in force -> (seq, cur, prev, state, boots, max) or None; and
# which of the two files holds it (0/1, -1 for none).
def pointer(root=_ROOT):
    best = None
    which = -1
    for i in (0, 1):
        r = _parse(_read("%s/ptr%d" % (root, i)))
        if r and (best is None or r[0] > best[0]):
            best = r
            which = i
    return best, which


def save(root, cur, prev, state, boots=0, mx=3):
    p, which = pointer(root)
    seq = p[0] + 1 if p else 1
    head = "OAP1 %d %s %s %s %d %d" % (seq, cur, prev, state, boots, mx)
    _write("%s/ptr%d" % (root, 1 if which == 0 else 0), "%s %x\n" % (head, _sum(head)))


# The agent's verdict on the app on trial: "ok" keeps it; "fail" goes back to prev.
def mark(root, state):
    p, _ = pointer(root)
    if not p:
        return
    if state == "ok":
        if p[3] != "ok":
            save(root, p[1], p[2], "ok", 0, p[5])
    elif p[2] != "-":
        save(root, p[2], p[1], state, 0, p[5])


# Count one boot of an app on trial; after max boots without a verdict go back to the
# previous app ("crash"). Puts the chosen app's folder first on sys.path -> the
# folder, or None when no app is installed.
def boot(root=_ROOT):
    p, _ = pointer(root)
    if not p:
        return None
    cur = p[1]
    if p[3] == "new":
        if p[4] >= p[5] and p[2] != "-":
            save(root, p[2], p[1], "crash", 0, p[5])
            cur = p[2]
        else:
            save(root, p[1], p[2], "new", p[4] + 1, p[5])
    d = root + "/" + cur
    for q in [q for q in sys.path if q.startswith(root + "/")]:
        sys.path.remove(q)
    sys.path.insert(0, d)
    return d


# (entry module, version) of an app folder, from its .app file (written at commit).
def manifest(d):
    t = _read(d + "/.app")
    if not t:
        return None, None
    w = t.split("\n")
    return w[0], (w[1] if len(w) > 1 else None)


# Import the app's entry module and call its main() when it has one -> the module.
def start(d):
    if not d:
        return None
    entry, _ = manifest(d)
    if not entry:
        return None
    m = __import__(entry)
    f = getattr(m, "main", None)
    if f:
        f()
    return m
