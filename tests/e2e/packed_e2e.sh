#!/usr/bin/env bash
# e2e_small's checks with the worker packing small chunks into volume files
# (--pack-chunks-up-to 1M): every acknowledged put survives kill -9 of the
# only worker, mid-group, and reads back byte-identical from its volumes.
SMALL_NAME=packed
SMALL_PACK=1M
source "$(dirname "${BASH_SOURCE[0]}")/small_e2e.sh"
