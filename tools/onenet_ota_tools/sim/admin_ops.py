"""The simulator's admin operations: the Python API of tests and the demo, and what
`/admin/...` (admin_api.py) and the page call: publish, devices, tasks, events, faults,
modes, cancel / pause / resume / expire. A mixin of `core.Simulator` (it reads
`self.store`, `self.faults`, `self.clock`, `self.inform`)."""
import os

from .store import OPEN, AdminError


class AdminOps:
    # -- admin operations -----------------------------------------------------------------
    def publish(self, target, product_id, access_key, dev_id, data=None, file=None, name=None, type=2,
                manuf="101", model="10101", retry=3, interval=60, signal=0, power=0, pkg_type=1,
                from_version=None, replace=False, f_version=None, s_version=None, platform=None,
                user_id=None, user_key=None, dev_key=None):
        if data is None:
            if file is None:
                raise AdminError("publish: data or file")
            with open(file, "rb") as f:
                data = f.read()
            name = name or os.path.basename(file)
        s = self.store
        with s.lock:
            pid = s.ensure_product(product_id, access_key, platform, user_id, user_key)
            s.ensure_device(dev_id, pid, f_version, s_version, dev_key)
            pkg = s.add_package(pid, name or "firmware.bin", data)
            t = s.create_task(dev_id, pkg["id"], target, type=type, manuf=manuf, model=model, retry=retry,
                              interval=interval, signal=signal, power=power, pkg_type=pkg_type,
                              from_version=from_version, replace=replace)
        return self.task_created(t["id"])

    def task_created(self, tid):
        """The view of a task just created (publish, the admin API, the page), after the
        platform's MQTT notification of it (sim/inform.py, when `serve --mqtt`)."""
        if self.inform is not None:
            self.inform.task_created(self.task(tid))
        return self.task(tid)

    # platform (legacy | fuse | studio), user_id/user_key (fuse user-level tokens) and
    # dev_key (device-level tokens): sim/dialects.py.
    def add_device(self, dev_id, product_id, access_key, f_version=None, s_version=None, platform=None,
                   user_id=None, user_key=None, dev_key=None):
        with self.store.lock:
            pid = self.store.ensure_product(product_id, access_key, platform, user_id, user_key)
            d = self.store.ensure_device(dev_id, pid, f_version, s_version, dev_key)
        d["product_id"] = d.pop("pid")
        d["has_key"] = bool(d.pop("dev_key", None))
        d["platform"] = self.store.product(pid)["platform"]
        return d

    def task(self, tid):
        t = self.store.task(tid)
        if t is None:
            raise AdminError("no task %s" % tid, 404)
        return self.store.task_view(t)

    def tasks(self, dev_id=None):
        return [self.store.task_view(t) for t in self.store.tasks(dev_id)]

    def devices(self):
        return self.store.devices()

    def events(self, dev_id=None, task_id=None, since=0):
        return self.store.events(dev_id, task_id, since)

    def fault(self, target, **knobs):
        """Set fault knobs on a device (dev_id, str) or a task (id, int); see faults.py.
        `expire_token=True` is an action on a task (or the device's open tasks)."""
        if knobs.pop("expire_token", False):
            if isinstance(target, int):
                self.store_action(target, "expire")
            else:
                for t in self.store.tasks(target):
                    if t["state"] in OPEN:
                        self.store_action(t["id"], "expire")
        return self.faults.set(target, **knobs) if knobs else {}

    def modes(self, **modes):
        """Set global modes (faults.MODES) -> all of them; no argument: just read them."""
        return self.faults.set_modes(**modes) if modes else self.faults.get_modes()

    def clear_faults(self, target=None):
        self.faults.clear(target)

    def cancel(self, tid):
        return self.store_action(tid, "cancel")

    def pause(self, tid):
        return self.store_action(tid, "pause")

    def resume(self, tid):
        return self.store_action(tid, "resume")

    def expire_token(self, tid):
        return self.store_action(tid, "expire")

    def store_action(self, tid, action, why="admin"):
        s = self.store
        with s.lock:
            t = s.task(tid)
            if t is None:
                raise AdminError("no task %s" % tid, 404)
            st = t["state"]
            if action == "cancel":
                if st not in OPEN:
                    raise AdminError("task %s is %s: cannot cancel" % (tid, st), 409)
                s.set_state(t, "cancelled", why=why)
            elif action == "pause":
                if st not in ("pending", "downloading", "upgrading"):
                    raise AdminError("task %s is %s: cannot pause" % (tid, st), 409)
                s.update_task(t["id"], paused_from=st)
                s.set_state(t, "paused", why=why)
            elif action == "resume":
                if st != "paused":
                    raise AdminError("task %s is %s: not paused" % (tid, st), 409)
                s.set_state(t, t["paused_from"] or "pending", why=why)
            elif action == "expire":
                now = self.clock.now()
                s.update_task(t["id"], expires=now - 1)
                s.event(t["dev_id"], t["id"], "token_expired", why=why)
            else:
                raise AdminError("unknown action %r" % action, 404)
        return self.task(tid)
