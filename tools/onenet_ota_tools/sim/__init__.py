"""A faithful local OneNET OTA simulator with fault injection (issue 3).

Behaves like `shared/docs/onenet-ota-api.md` (the contract). Layout:
`ranges.py` (the Range rules), `store.py` (SQLite state, clock), `tasks.py` (south API +
task state machine), `faults.py` (knobs), `server.py` (HTTP; stack choice explained
there), `admin_api.py` (`/admin/...` JSON + the page at `/`), `core.py` (`Simulator`),
`load.py` (`python -m onenet_ota_tools.sim.load`).

Endpoints: `POST|GET /ota/device/version?dev_id=`, `GET /ota/south/check?...`,
`GET /ota/south/download/{token}/check?dev_id=`, `GET /ota/south/download/{token}`,
`POST /ota/south/device/download/{token}/progress?dev_id=` (`{"step":N}`),
`POST /ota/south/report?dev_id=&token=` (`{"result":N}`), and one simulator extension:

    GET /ota/south/tasking?dev_id=[&type=1|2]   (Authorization like check)
    -> {"errno":0,"error":"succ","data":{"dev_id":..,"tasks":[{"tid","target","token",
        "size","md5","signal","power","retry","interval","type" (1 full / 2 diff),
        "task_type" (1 FOTA / 2 SOTA),"state","progress","result","created","expires"}]}}
    state is one of pending downloading upgrading succeeded failed cancelled paused.

Decisions where the contract leaves room (all documented behaviour is followed as is):
- The first download of a pending task moves it to downloading (the token check stays
  the documented way; the platform's C SDK skips it).
- Download and token check are authenticated by the token alone (the seed's download
  has no Authorization); an Authorization header that is present on the token check or
  the older report is verified. `res` must be `products/{pid}` of the device's product.
- Unknown token or a token of another device: token check and progress -> errno 4;
  older report -> errno 1; download -> one byte `3`. A check of a task whose token has expired hands out a fresh token (48 h from
  then) and forgets the old one; until then, an expired token (48 h after the
  task was created, simulator clock) -> errno 12 (check, progress), byte `3` (download).
- Ended tasks: succeeded/failed -> 20, cancelled -> 22, checked before anything else.
- Paused (from the admin side): `check` still answers errno 0 with the task (wire format
  unchanged, so the device learns `retry`/`interval`); token check, steps and result
  codes answer 17 (`invalid state`; 21 on the older report form) and downloads answer
  the one byte `3`. Resume returns the task to the state it was paused in.
- A parsed Range is answered 206 with Content-Range, even when it covers the whole file
  (`bytes=0-`, `-n` with n > len); no Range or an unparseable one -> 200, whole file,
  without Content-Range. `-0` is taken as the whole file. The one-byte error answers
  (`1` no package file, `2` file size differs from the published size, `3` token
  unknown/expired/of another dev_id/task not pending-downloading-upgrading) are status
  200, `Connection: close`, no Content-Length.
- Reporting a version completes an active task of the matching type (f_version -> FOTA
  type 1, s_version -> SOTA type 2) whose target equals it.
- `check` does not change the device's recorded version; a manuf/model mismatch fails
  the task (8); a differential task (pkg_type 2) with from_version != version fails (9).
- A simulator exception answers errno 7 (the platform's "internal error").
- Faults live in memory (not in SQLite); products, devices, packages, tasks and events
  survive a restart.
"""
from .core import Simulator  # noqa: F401
from .store import AdminError, Clock  # noqa: F401
