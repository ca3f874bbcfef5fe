"""A faithful local OneNET OTA simulator with fault injection (issue 3).

Behaves like `shared/docs/onenet-ota-api.md` (the contract). Layout:
`ranges.py` (the Range rules), `store.py` (SQLite state, clock), `tasks.py` (south API +
task state machine), `faults.py` (knobs), `server.py` (HTTP; stack choice explained
there), `admin_api.py` (`/admin/...` JSON + the page at `/`), `core.py` (`Simulator`),
`load.py` (`python -m onenet_ota_tools.sim.load`).

Endpoints: `POST|GET /ota/device/version?dev_id=`, `GET /ota/south/check?...`,
`GET /ota/south/download/{token}/check?dev_id=`, `GET /ota/south/download/{token}`,
`POST /ota/south/device/download/{token}/progress?dev_id=` (`{"step":N}`),
`POST /ota/south/report?dev_id=&token=` (`{"result":N}`) and
`GET /ota/south/tasking?dev_id=&type=1|2[&cdn=]` (section 10: `data` is the one task
being downloaded or upgraded, with the check answer's keys; errno 2, 4, 7, 12).

Where the sources disagree (section 10) each documented answer is a mode (faults.MODES:
ipPort form and the cdn value that asks for it, paused-check errno, one-byte encoding,
1-byte ranges, Content-Range on whole files, requests per connection, token expiry);
docs/conformance.md has the table.

Decisions where the contract leaves room (all documented behaviour is followed as is):
- The first download of a pending task moves it to downloading (the token check stays
  the documented way; the platform's C SDK skips it).
- Download and token check are authenticated by the token alone (the seed's download
  has no Authorization); an Authorization header that is present on the token check is
  verified. The older report form needs a valid Authorization, like every other call.
  `res` must be `products/{pid}` of the device's product.
- Unknown token or a token of another device: token check and progress -> errno 4;
  older report -> errno 1; download -> one byte `3`. An expired token (48 h after the
  task was created, simulator clock) -> errno 12 (token check, progress, tasking), byte
  `3` (download). Mode token_expiry=refresh (default): a check of such a task hands out
  a fresh token (48 h from then) and forgets the old one; =end: the first 12 fails the
  task (result 208) and a check answers 11.
- Ended tasks: succeeded/failed -> 20, cancelled -> 22, checked before anything else.
- Paused (from the admin side): `check` answers errno 17 by default (mode paused_check:
  17 | 11 | 0 = the old answer with the task); token check, steps and result codes
  answer 17 (`invalid state`; 21 on the older report form) and downloads answer the
  one byte `3`. Resume returns the task to the state it was paused in.
- A parsed Range is answered 206 with Content-Range, even when it covers the whole file
  (`bytes=0-`, `-n` with n > len); no Range or an unparseable one -> 200, whole file,
  with `Content-Range: bytes 0-(len-1)/len` unless mode whole_content_range=false. `-0`
  is taken as the whole file. A 1-byte range (file >= 2 bytes) -> mode short_range. The
  one-byte error answers 1-6 (see server.Handler._download) are status 200,
  `Connection: close`, no Content-Length, an ASCII digit or the raw value (mode one_byte).
- Reporting a version completes an active task of the matching type (f_version -> FOTA
  type 1, s_version -> SOTA type 2) whose target equals it.
- `check` needs only dev_id, type and version; it does not change the device's recorded
  version; a manuf/model that is sent and differs fails the task (8); a differential
  task (pkg_type 2) with from_version != version fails (9).
- A simulator exception answers errno 7 (the platform's "internal error").
- Faults and modes live in memory (not in SQLite); products, devices, packages, tasks and events
  survive a restart.
"""
from .core import Simulator  # noqa: F401
from .store import AdminError, Clock  # noqa: F401
