"""Load, faults and bad input against the service as deployed: nginx in front of gunicorn, on PostgreSQL and Redis.

    python -m benchmarks.load [--seconds 60] [--clients 8] [--scenario all|load|kill|postgres|redis|fuzz]

Starts nginx and gunicorn as `make serve` does (serve.py, gunicorn.conf.py, deploy/nginx.conf) on free
loopback ports, with a PostgreSQL schema and a Redis key prefix of its own, removed at the end. Every
request is POST /api/predict as the page sends it (JSON, a PNG data URL) with an image of its own: the
10,000 MNIST test digits drawn large on a transparent 280x280 canvas, each request's PNG made unique by a
counter in a text chunk, so nothing comes from the cache. Each client thread sends the requests of 32
users in turn, each from a loopback address of its own, so that the rate limit and the hourly quota run as
deployed and no user reaches either. Every figure is a ratio taken in one run: the machine's pace varies.

  load      8 clients against 4 workers and against 1 worker, in turns, with the engine alone timed in
            this process between turns: throughput 4 workers / 1 worker, p99 / p50, and the CPU the
            gunicorn workers spend per stored prediction / the engine's CPU per canvas
  kill      4 workers; one is SIGKILLed a third of the way through
  postgres  4 workers reaching PostgreSQL through a proxy (benchmarks.faults) that is taken down a third
            of the way through and brought back --outage s later
  redis     the same with Redis
  fuzz      schemathesis against /api/openapi.json, then hypothesis on the image decoder

After each run the stored rows are checked against the 201 answers: every acknowledged prediction stored
with its image (nothing lost), no image stored twice (nothing doubled). PostgreSQL and Redis themselves
are never stopped: an outage is the proxy's, so the benchmark needs no privileges and disturbs no other
user of them. Requests go to 127.0.0.1 only (from addresses of 127.1.0.0/16), each with a timeout, for a
bounded time. MNIST comes from MNIST_DIR (default ../shared/data/mnist).
"""
