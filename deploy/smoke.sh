#!/usr/bin/env bash
# The production settings, started locally: uvicorn (ASGI) for the web, a Celery worker and beat,
# all on Redis (localhost:6379, or CELERY_BROKER_URL), with JSON logs; against the embedded
# database and the demo corpus (`make demo` first). Waits for /readyz, then asks one question end
# to end as alice through the page's own endpoints (deploy/smoke.py). Logs go to var/log/smoke-*.log.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${SMOKE_PORT:-8020}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
export ENCLAVE_CELERY_QUEUE=${ENCLAVE_CELERY_QUEUE:-enclave-smoke}
export ENCLAVE_LOG_FORMAT=json ENCLAVE_DEBUG=false ENCLAVE_ALLOWED_HOSTS=127.0.0.1,localhost
export ENCLAVE_WORKER_METRICS_PORT=${ENCLAVE_WORKER_METRICS_PORT:-9108}
mkdir -p var/log

# The prefork pool ingests in a child process: its metrics reach the parent's port through files.
metrics_dir=$(mktemp -d)
PROMETHEUS_MULTIPROC_DIR=$metrics_dir $BIN/celery -A config.celery worker -Q "$ENCLAVE_CELERY_QUEUE" --concurrency 1 \
  >var/log/smoke-worker.log 2>&1 &
worker=$!
$BIN/celery -A config.celery beat --schedule var/smoke-beat-schedule >var/log/smoke-beat.log 2>&1 &
beat=$!
$BIN/uvicorn config.asgi:application --host 127.0.0.1 --port "$PORT" --workers 1 >var/log/smoke-web.log 2>&1 &
web=$!
trap 'kill $web $worker $beat 2>/dev/null; wait $web $worker $beat 2>/dev/null; rm -rf "$metrics_dir"' EXIT INT TERM

for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 1
done
echo "readyz: $(curl -s "http://127.0.0.1:$PORT/readyz")"
$BIN/python deploy/smoke.py --url "http://127.0.0.1:$PORT" "$@"
echo "worker metrics: $(curl -s "http://127.0.0.1:$ENCLAVE_WORKER_METRICS_PORT/metrics" | grep -c '^enclave_') enclave_* samples"
echo "web metrics: $(curl -s "http://127.0.0.1:$PORT/metrics" | grep '^enclave_answers_total')"
