#!/usr/bin/env node
// external/lubdub: cluster-glue external STONITH plugin for the lubdub device.
// Install: ln -s "$(realpath stonith-external-lubdub.js)" /usr/lib/stonith/plugins/external/lubdub
// (cluster-glue refuses plugins writable by group or others: keep this file 0755.)
import "../dist/fencing/tools/external-lubdub-main.js";
