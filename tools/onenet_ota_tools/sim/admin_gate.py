"""The admin side's gate (issue 16): every `/admin/...` request and the page pass the
Host, Origin and token checks here before their body is read. A mixin of
`server.Handler` (it answers with the handler's `respond` / `_send` / `_head`)."""
import json

from .wire import MAX_API_BODY

COOKIE = "onenet_sim_admin"


class AdminGate:
    # -- the admin side: token, Host, Origin ---------------------------------------------
    def _admin_refusal(self, method, path, q):
        """Answer and return True when an admin/page request is refused (or is the token
        URL, answered with a cookie and a redirect to the page).
        - Host must name this server: a loopback name or the bound address, at its port
          (a DNS-rebinding page sends its own name).
        - Origin, when sent, must be such a host too, and Sec-Fetch-Site same-origin or
          none: a cross-site form or fetch is refused even when the cookie rides along.
        - The token: `Authorization: Bearer T` (the CLI) or the cookie that `GET /?token=T`
          (the URL `serve` prints) sets: HttpOnly, SameSite=Strict. Compared in constant time."""
        sim = self.server.sim
        h = self.headers
        host = h.get("Host")
        if host is not None and not sim._host_ok(host):
            return self._refuse(403, "Host not allowed")
        origin = h.get("Origin")
        if origin is not None and not sim._origin_ok(origin):
            return self._refuse(403, "cross-origin request refused")
        if (h.get("Sec-Fetch-Site") or "same-origin").lower() not in ("same-origin", "none"):
            return self._refuse(403, "cross-site request refused")
        if path == "/" and method == "GET" and "token" in q:
            if not sim._token_ok(q["token"]):
                return self._refuse(401, "bad admin token")
            self._status = 303
            self._send(self._head(303, [("Location", "/"), ("Content-Length", "0"), (
                "Set-Cookie", "%s=%s; Path=/; HttpOnly; SameSite=Strict" % (COOKIE, sim.admin_token)),
                ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer")]))
            return True
        given = None
        a = h.get("Authorization") or ""
        if a[:7].lower() == "bearer ":
            given = a[7:].strip()
        else:
            for part in (h.get("Cookie") or "").split(";"):
                k, _, v = part.strip().partition("=")
                if k == COOKIE:
                    given = v
        if not sim._token_ok(given):
            return self._refuse(401, "admin token required (printed by `onenet-ota serve`; "
                                "in <state-dir>/admin-token; see `onenet-ota admin --help`)",
                                [("WWW-Authenticate", "Bearer")])
        return False

    def _refuse(self, status, msg, extra=()):
        # A small Content-Length body is read and dropped so the client gets this answer
        # and not a reset; anything else is never read (the connection closes).
        try:
            n = int(self.headers.get("Content-Length") or "x")
        except ValueError:
            n = -1
        keep = 0 <= n <= MAX_API_BODY and not self.headers.get("Transfer-Encoding")
        if keep:
            self.server.sim._conn_state(self._conn, "body", n)
            if len(self.rfile.read(n)) != n:
                keep = False
        self.respond(status, json.dumps({"error": msg}).encode(), close=not keep, extra=extra)
        return True
