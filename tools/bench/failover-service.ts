// The service the failover benchmark moves: a tiny HTTP server bound to the
// floating IP, answering with the name of the node it runs on (a copy of the
// tests' http-service fixture). Its one line on stdout says when the process
// started and when it was listening, both wall-clock ms since the epoch, so
// the benchmark can split the service's own start-up from the agent's work:
//
//   listening on ADDRESS:PORT as NODE started=MS ready=MS
//
//   node failover-service.js ADDRESS PORT NODE

import { createServer } from "node:http";

const [address, port, node] = process.argv.slice(2);
if (!address || !port || !node) {
  process.stderr.write("usage: failover-service ADDRESS PORT NODE\n");
  process.exit(64);
}

// The init script reads the ready line from a FIFO and goes away; a later
// write would then fail with EPIPE, which must not end the service.
process.stdout.on("error", () => undefined);

const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain", connection: "close" });
  res.end(`${node}\n`);
});
server.on("error", (e) => {
  process.stderr.write(`failover-service: ${e.message}\n`);
  process.exit(1);
});
server.listen(Number(port), address, () => {
  process.stdout.write(`listening on ${address}:${port} as ${node} started=${performance.timeOrigin.toFixed(1)} ready=${Date.now()}\n`);
});
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 200).unref();
  });
}
