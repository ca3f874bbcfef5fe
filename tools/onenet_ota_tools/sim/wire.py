"""The simulator's wire constants, shared by the HTTP plumbing (`server`) and the routes
(`south_http`, `admin_gate`): body limits, the one-`sendall` size, the status reasons."""

MAX_API_BODY = 64 * 1024
MAX_UPLOAD = 256 * 1024 * 1024
BIG = 64 * 1024
REASONS = {200: "OK", 206: "Partial Content", 303: "See Other", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
           411: "Length Required", 413: "Payload Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
           503: "Service Unavailable"}
