#!/usr/bin/env node
// The lubdub device simulator. A committed file, so npm can link it at install
// time (the compiled code it loads is built afterwards, by `npm run build`).
import "../dist/node/targets/sim/main.js";
