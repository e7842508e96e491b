#!/usr/bin/env bash
# The image's entrypoint: one role per container (deploy/README.md).
#
#   web                  the ASGI server (uvicorn) on port 8000; answers stream through it
#   worker               a Celery worker on the ingestion queue
#   beat                 Celery beat, the schedules (run exactly one)
#   migrate              apply migrations as the owner role, grant the runtime role, exit
#   manage.py ARGS...    a management command, e.g. `manage.py user_add dana --group hr`
#   anything else        run as given, e.g. `bash`
#
# Arguments after a role are passed on to its program: `worker --loglevel DEBUG`.
# Every Django setting comes from the environment (deploy/.env.example); the variables below are
# read here only and are documented there too.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."

# Uvicorn processes per container. Each one loads its own copy of the answering model (~1.5 GB
# with the embedding model), and two llama.cpp processes on the same cores slow each other down:
# keep 1 and add replicas, unless generation runs elsewhere (ENCLAVE_LLM_URL).
web_concurrency="${WEB_CONCURRENCY:-1}"
# Addresses whose X-Forwarded-For / X-Forwarded-Proto headers are believed: your proxy or ingress.
forwarded_allow_ips="${FORWARDED_ALLOW_IPS:-*}"
# Worker processes per worker container; embedding already uses every core it is given.
celery_concurrency="${CELERY_CONCURRENCY:-1}"
# The queue that tasks go to and workers read from (a Django setting too; same default).
celery_queue="${ENCLAVE_CELERY_QUEUE:-enclave}"
log_level="${ENCLAVE_LOG_LEVEL:-INFO}"

# Prometheus metrics from several processes: Celery's prefork pool ingests in child processes while
# the parent serves ENCLAVE_WORKER_METRICS_PORT, and uvicorn's --workers share one /metrics. Each
# process then writes its samples to files in PROMETHEUS_MULTIPROC_DIR, which a scrape adds up;
# the folder must not hold the files of processes from an earlier start.
# Set but empty (a copied .env.example) would still switch prometheus_client to this mode.
if [[ -z "${PROMETHEUS_MULTIPROC_DIR:-}" ]]; then
    unset PROMETHEUS_MULTIPROC_DIR
fi
multiprocess_metrics() {
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus-$1}"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -type f -name '*.db' -delete
}

fail() {
    echo "enclave: $*" >&2
    exit 64
}

# NAME or NAME_FILE must be set. Without them the settings fall back to what suits one machine
# and not a container: an embedded database or broker inside it (gone with the container), or a
# signing key written into the image's read-only data directory.
require() {
    local role=$1 name file_name
    shift
    for name in "$@"; do
        file_name="${name}_FILE"
        if [[ -z "${!name:-}" && -z "${!file_name:-}" ]]; then
            fail "the $role role needs $name (or $file_name); see deploy/.env.example"
        fi
    done
}

role="${1:-web}"
if [[ $# -gt 0 ]]; then
    shift
fi

case "$role" in
    web)
        require web SECRET_KEY DATABASE_URL CELERY_BROKER_URL
        if [[ $web_concurrency != 1 ]]; then
            multiprocess_metrics web
        fi
        # --lifespan off: Django has no lifespan handler. --timeout-keep-alive above the usual 60 s
        # of proxies and load balancers, so they never reuse a connection uvicorn is closing.
        # Open answer streams get 45 s to finish on shutdown (the orchestrators give 60).
        exec uvicorn config.asgi:application \
            --host 0.0.0.0 --port 8000 \
            --workers "$web_concurrency" \
            --lifespan off \
            --proxy-headers --forwarded-allow-ips "$forwarded_allow_ips" \
            --no-access-log --no-server-header \
            --timeout-keep-alive 75 \
            --timeout-graceful-shutdown 45 \
            "$@"
        ;;
    worker)
        require worker SECRET_KEY DATABASE_URL CELERY_BROKER_URL
        multiprocess_metrics worker
        exec celery -A config.celery worker \
            --concurrency "$celery_concurrency" \
            --queues "$celery_queue" \
            --loglevel "$log_level" \
            "$@"
        ;;
    beat)
        require beat SECRET_KEY DATABASE_URL CELERY_BROKER_URL
        # The schedule's state (when each task last ran) goes to /tmp, writable even on a read-only
        # root file system; losing it on a restart only runs each schedule once early.
        exec celery -A config.celery beat \
            --schedule /tmp/celerybeat-schedule \
            --loglevel "$log_level" \
            "$@"
        ;;
    migrate)
        require migrate SECRET_KEY DATABASE_URL
        if [[ -z "${ENCLAVE_DATABASE_OWNER_URL:-}" && -z "${ENCLAVE_DATABASE_OWNER_URL_FILE:-}" ]]; then
            echo "enclave: ENCLAVE_DATABASE_OWNER_URL is not set: migrating as the runtime role, which then" \
                "owns the tables, so row-level security does not apply to it (deploy/README.md)" >&2
        fi
        exec python manage.py migrate --no-input "$@"
        ;;
    manage.py | manage)
        exec python manage.py "$@"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
