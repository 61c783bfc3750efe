#!/usr/bin/env node
// The lubdubd agent. A committed file, so npm can link it at install time
// (the compiled code it loads is built afterwards, by `npm run build`).
import "../dist/daemon/lubdubd.js";
