#!/usr/bin/env node
// fence_lubdub: fence agent (fence-agents API) for the lubdub device.
// Install for Pacemaker: ln -s "$(realpath fence_lubdub.js)" /usr/sbin/fence_lubdub
import "../dist/fencing/tools/fence-lubdub-main.js";
