#!/usr/bin/env bash
# Install tpchgen-cli (PyPI) at the version ferry's data and tests are made with, unless it is
# already on PATH. Used by scripts/make-data.sh, scripts/test.sh and benches/tpch_load.sh.
set -euo pipefail

TPCHGEN_VERSION=4.0.0

if [[ $(tpchgen-cli --version 2>/dev/null || true) != "tpchgen-cli $TPCHGEN_VERSION" ]]; then
    echo "==> installing tpchgen-cli==$TPCHGEN_VERSION (pip)"
    python3 -m pip install --quiet "tpchgen-cli==$TPCHGEN_VERSION" ||
        python3 -m pip install --quiet --break-system-packages "tpchgen-cli==$TPCHGEN_VERSION"
    hash -r
    if [[ $(tpchgen-cli --version) != "tpchgen-cli $TPCHGEN_VERSION" ]]; then
        echo "tpchgen-cli: error: tpchgen-cli $TPCHGEN_VERSION not found on PATH after install" >&2
        exit 1
    fi
fi
