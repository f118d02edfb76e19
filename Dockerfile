# The service as gunicorn runs it in production (gunicorn.conf.py): 4 workers on port 8000.
# compose.yaml adds PostgreSQL and Redis; DATABASE_URL and CACHE_REDIS_URL point the service at them.
FROM python:3.11-slim

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
ENV BIND=0.0.0.0:8000 \
    INSTANCE_PATH=/app/instance
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=2)"]
CMD ["gunicorn"]
