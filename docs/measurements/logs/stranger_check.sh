#!/bin/bash
# The stranger's check: a fresh clone with no ../shared, the archives given as local copies (LLC_ARCHIVES).
cd /tmp/stranger/llc
t() { local s=$(date +%s); "$@"; local rc=$?; echo "== [$(date -u +%H:%M:%S)] '$*' rc=$rc in $(( $(date +%s) - s )) s"; return $rc; }
export LLC_ARCHIVES=/tmp/stranger/archives
t env PYTHONPATH=/tmp/stranger/patch STANDIN_MD5=/tmp/stranger/standin_md5.json make data || exit 1
t make reproduce PROFILE=smoke || exit 1
t make figures || exit 1
git status --short | head -20
t .venv/bin/python -m llc_lib compare --profile cpu
t make test
