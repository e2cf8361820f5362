#!/usr/bin/env bash
# `make run`: migrate, seed demo data once, then the web server and one django-q2 cluster.
# Ctrl-C (or either process dying) stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
mkdir -p var

"$py" manage.py migrate --noinput -v0
"$py" manage.py collectstatic --noinput -v0
"$py" manage.py seed_demo --if-empty

pids=()
stop() {
  trap - INT TERM EXIT
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$py" manage.py qcluster &
pids+=($!)
"$py" manage.py runserver 127.0.0.1:8000 --noreload &
pids+=($!)
echo "Portal: http://127.0.0.1:8000/  (Ctrl-C stops the web server and the task cluster)"
wait -n  # returns when either process ends; the trap then stops the other
