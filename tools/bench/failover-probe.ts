// The failover benchmark's client (after the tests' http-probe fixture): one
// HTTP GET to ADDRESS:PORT every INTERVAL ms, each on a new connection with a
// short timeout, and one JSON line per outcome on stdout:
//
//   {"t": sent, "at": settled, "ok": bool, "node": "alpha"|null, "err": "ECONNREFUSED"|null}
//
// t and at are wall-clock ms since the epoch. A refused connection means some
// host answers for the address but nothing listens there yet: during a
// failover, that the backup has taken the address before its service is up.
//
//   node failover-probe.js ADDRESS PORT [INTERVAL_MS]

import { request } from "node:http";

const [address, port, interval] = process.argv.slice(2);
const everyMs = Number(interval ?? 10);
/** A request that takes longer than this counts as a failure (and does not pile up). */
const TIMEOUT_MS = 200;

function probe(): void {
  const t = Date.now();
  let done = false;
  const finish = (ok: boolean, node: string | null, err: string | null) => {
    if (done) return;
    done = true;
    process.stdout.write(JSON.stringify({ t, at: Date.now(), ok, node, err }) + "\n");
  };
  const req = request({ host: address, port: Number(port), path: "/", timeout: TIMEOUT_MS, agent: false }, (res) => {
    let body = "";
    res.on("data", (d: Buffer) => (body += d.toString()));
    res.on("end", () => finish(res.statusCode === 200, body.trim(), res.statusCode === 200 ? null : `HTTP ${res.statusCode}`));
    res.on("error", (e: NodeJS.ErrnoException) => finish(false, null, e.code ?? e.message));
  });
  req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
  req.on("error", (e: NodeJS.ErrnoException) => finish(false, null, e.code ?? e.message));
  req.end();
}

setInterval(probe, everyMs);
