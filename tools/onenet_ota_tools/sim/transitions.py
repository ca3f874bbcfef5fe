"""A task's state transitions as the device drives them, one copy for the legacy south
API (tasks.py) and the two task-id dialects (dialects.py): a version report, progress
steps, a result code. Callers hold the store's lock; each answers with its own errno
for a refusal (the dialects' §4.6 17, the legacy 17 or 21)."""
import json

from .store import ACTIVE


def json_object(body):
    """The request body as a JSON object, or None (empty, not JSON, not an object)."""
    try:
        v = json.loads(body.decode("utf-8")) if body else None
    except (ValueError, UnicodeDecodeError):
        return None
    return v if isinstance(v, dict) else None


def report_versions(store, dev_id, vers):
    """The device reports its versions ({"f_version"|"s_version": v}): they are stored,
    and an active task whose target was reported is done."""
    for x, v in vers.items():
        store.x("UPDATE devices SET %s=?, seen=? WHERE dev_id=?" % x, (v, store.clock.now(), dev_id))
    store.event(dev_id, None, "version", **vers)
    for x, v in vers.items():
        t = store.open_task(dev_id, 1 if x == "f_version" else 2)
        if t and t["state"] in ACTIVE and t["target"] == v:
            store.set_state(t, "succeeded", why="version reported")


def progress(store, t, step):
    """A download step 0..100 -> True, recorded; False (refused) when the task is not
    downloading. 100 moves it to upgrading."""
    if t["state"] != "downloading":
        return False
    store.update_task(t["id"], progress=step)
    if step == 100:
        store.set_state(t, "upgrading", why="step 100")
    return True


def result_refused(t, code):
    """A result code is refused while paused, and while upgrading unless it is 2xx (so
    no 101 after 100)."""
    return t["state"] == "paused" or (t["state"] == "upgrading" and code < 200)


def finish(store, t, code, label):
    """A result code: 101 (downloaded) -> upgrading at 100 %, 201 -> succeeded, any
    other -> failed with the code. `label` names the caller's word in the event."""
    store.update_task(t["id"], result=code)
    if code == 101:
        store.update_task(t["id"], progress=100)
        store.set_state(t, "upgrading", why="%s 101" % label)
    elif code == 201:
        store.set_state(t, "succeeded", why="%s 201" % label)
    else:
        store.set_state(t, "failed", why="%s %d" % (label, code), result=code)


def first_download(store, t):
    """The first download moves a pending task to downloading."""
    if t["state"] == "pending":
        store.set_state(t, "downloading", why="first download")
