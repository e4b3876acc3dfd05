#!/usr/bin/env bash
# `npm start`: installs what is missing (Bun, dependencies, Caddy, a local Redis binary),
# then runs the whole stack in the foreground. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/ensure-tools.sh
ensure_tools
ensure_local_redis
# Same as `bun run dev` minus bun's script wrapper process, so that dev.ts notices when
# npm's shell goes away (see watchParent in scripts/dev.ts).
exec bun run scripts/dev.ts
