"""gunicorn's settings for todoapp, used by ``make serve`` and by every test
and benchmark server (``gunicorn -c python:todoapp.gunicorn_conf``).

gunicorn answers some malformed requests itself, before the app sees them:
a request line or header past these limits (414, 431), or one it cannot
parse (400). Those answers are gunicorn's bare pages, without the app's
security headers; the reverse proxy in front (README, Deployment) keeps them
from browsers by refusing such requests first, with tighter limits of its own.
The limits here are the last line, set on purpose rather than by default.
"""

# A request line (method, path and query, version) of at most 4 KiB: the
# app's longest real URL is a list page with a cursor, under 100 bytes.
limit_request_line = 4094
# At most 50 header fields, each at most 8 KiB: a browser sends about 15,
# and the session cookie is under 1 KiB.
limit_request_fields = 50
limit_request_field_size = 8190
# A worker stuck on one request this long is restarted. Every page does
# bounded work (the web purge stops after WEB_PURGE_BATCHES batches).
timeout = 60
# On SIGTERM, requests under way get this long to finish.
graceful_timeout = 30
# No control socket in $HOME (gunicorn 27 opens one by default).
control_socket_disable = True
# No request header sets SCRIPT_NAME or PATH_INFO, and no peer is trusted
# for X-Forwarded-Proto: a client on the same host could otherwise mount the
# app at a path of its choosing. A proxy in front is trusted by the app
# itself (TRUSTED_PROXIES); a path prefix comes from the SCRIPT_NAME
# environment variable.
forwarded_allow_ips = ""
forwarder_headers = ""
