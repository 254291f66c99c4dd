#!/usr/bin/env bash
# Install httpr from source into .venv and run the demo against a loopback server.
source "$(dirname "$0")/env.sh"
echo "== building and installing httpr (release build; the first build takes a few minutes)"
"$VPY" -m pip install -q .
echo "== examples/demo.py"
"$VPY" examples/demo.py
