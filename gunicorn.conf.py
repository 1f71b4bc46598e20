"""Production gunicorn settings (`gunicorn -c gunicorn.conf.py app:app`)."""

import os

from ivr.cpus import usable_cpus

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8080')}")
# Webhooks are short and CPU-bound (a signature and a lookup): one process per core, each with threads
# for keep-alive and the occasional slow client. bench/webhook on 2 cores: 2 × 4 gave a p99 of 54 ms
# against 95 ms for 4 × 4, with more requests per second (bench/README.md). Scale out with replicas.
# One core = the CPUs this container may use (affinity, cgroup quota), not the host's count.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, usable_cpus())))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Twilio gives a webhook 15 s; a stuck request is killed well before that so Twilio's fallback URL can act.
timeout = 10
graceful_timeout = 10
keepalive = 5
# Each worker loads and validates the flow itself; an invalid flow stops the boot with the messages.
preload_app = False
# A safety net against a slow leak (bench/soak finds none): at a spike's 1500 req/s per machine a worker
# is renewed every two minutes or so, each renewal costing a second of one core; at normal load, never.
max_requests = 100000
max_requests_jitter = 10000
accesslog = "-"
# No query string values carry caller data (positions and counters only); the body is never logged.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = "info"
# No `gunicornc` here; and two servers on one host (bench, a rolling restart) would share its socket path.
control_socket_disable = True
forwarded_allow_ips = ""  # never trust X-Forwarded-*: signatures are checked against PUBLIC_BASE_URL
