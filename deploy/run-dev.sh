#!/usr/bin/env bash
# `make run`: the web server in the foreground, a Celery worker and beat beside it. Ctrl-C stops
# all three (the embedded database and broker keep running; `make db-stop` stops the database).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
mkdir -p var/log

# One worker process: embedding already uses every core through torch's own threads.
$BIN/celery -A config.celery worker --loglevel=INFO --concurrency=1 >var/log/worker.log 2>&1 &
worker=$!
$BIN/celery -A config.celery beat --loglevel=INFO >var/log/beat.log 2>&1 &
beat=$!
trap 'kill $worker $beat 2>/dev/null; wait $worker $beat 2>/dev/null' EXIT INT TERM
echo "worker (pid $worker) and beat (pid $beat) log to var/log/"

$BIN/python manage.py runserver 127.0.0.1:8000
