// The demo's resource: a tiny HTTP service that answers "served by NODE".
// Started and stopped by the demo's resource.d script (see cluster.ts), which
// lubdubd runs as a Heartbeat-class resource, exactly as it would run a real
// service's script. Only one process can listen on the port: that is the
// demo's stand-in for the floating IP address.
//
//   node http-service.js PORT NODE PIDFILE WATCH_PID [HOST]
//
// HOST is 127.0.0.1 unless given (on the root path: the floating IP, which
// IPaddr2 puts on the node's interface before the init script starts this).
// The pid file is written once the port is bound; exit 3 when the port is
// taken (another node still serves it). The process ends by itself when
// WATCH_PID (the demo) is gone, so nothing outlives the demo.

import { writeFileSync } from "node:fs";
import { createServer } from "node:http";

const [portText, node, pidFile, watchText, hostArg] = process.argv.slice(2);
const host = hostArg || "127.0.0.1";
const port = Number(portText);
const watch = Number(watchText);
if (!Number.isInteger(port) || !node || !pidFile) {
  process.stderr.write("usage: http-service PORT NODE PIDFILE [WATCH_PID]\n");
  process.exit(64);
}

const started = new Date().toISOString();
const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain", connection: "close" });
  res.end(`served by ${node} since ${started}\n`);
});
// A port still taken is tried again for a moment: the node that had it may
// be losing its power right now (as an IP address is taken over only after
// the old holder was fenced).
const RETRY_MS = 1500;
const firstTry = Date.now();
server.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EADDRINUSE" && Date.now() - firstTry < RETRY_MS) {
    setTimeout(listen, 100);
    return;
  }
  process.stderr.write(`http-service ${node}: ${e.message}\n`);
  process.exit(e.code === "EADDRINUSE" ? 3 : 1);
});
function listen(): void {
  server.listen({ port, host, exclusive: true }, () => {
    writeFileSync(pidFile!, `${process.pid}\n`);
  });
}
listen();
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (Number.isInteger(watch) && watch > 0) {
  setInterval(() => {
    try {
      process.kill(watch, 0);
    } catch {
      process.exit(0);
    }
  }, 1000).unref();
}
