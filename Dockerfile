# Two images from one file: `proxy`, Debian's nginx with deploy/nginx.conf and the page's static files,
# the only part clients reach; and `web`, the service as gunicorn runs it (gunicorn.conf.py: 4 workers on
# port 8000), behind it. compose.yaml builds both and adds PostgreSQL and Redis.
FROM debian:bookworm-slim AS proxy

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/*
COPY src/static /srv/static
COPY deploy/nginx.conf /srv/nginx.conf.template
# The template's placeholders for this deployment (single quotes: no shell expansion). nginx runs as
# www-data, with its files under /srv/nginx, on an unprivileged port.
RUN mkdir -p /srv/nginx/tmp \
 && sed -e 's|${LISTEN}|8080|' -e 's|${UPSTREAM}|web:8000|' -e 's|${STATIC_ROOT}|/srv/static|' \
        -e 's|${MAX_BODY}|10485760|g' /srv/nginx.conf.template > /srv/nginx/nginx.conf \
 && chown -R www-data:www-data /srv/nginx
USER www-data
EXPOSE 8080
CMD ["nginx", "-p", "/srv/nginx", "-c", "/srv/nginx/nginx.conf", "-e", "stderr", "-g", "daemon off;"]


FROM python:3.11-slim AS web

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

COPY gunicorn.conf.py ./
COPY src ./src
COPY models ./models

# The instance folder keeps the secret key that every worker signs sessions with.
RUN useradd --system --no-create-home digits && mkdir instance && chown digits instance
USER digits
# Reached only through the proxy, whose X-Forwarded-For and X-Forwarded-Proto it trusts.
ENV BIND=0.0.0.0:8000 \
    INSTANCE_PATH=/app/instance \
    TRUSTED_PROXIES=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=2)"]
CMD ["gunicorn"]
