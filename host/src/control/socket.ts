// The agent's control socket: a Unix socket in the run dir, one JSON request
// per line, one JSON response per line. Mode 0660, group haclient when that
// group exists (as Heartbeat's API socket), so operators in it can query.

import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { parseControlRequest, type ControlRequest, type ControlResponse } from "./status.js";

export const CONTROL_SOCKET_NAME = "lubdubd.sock";
/** A request line longer than this is refused (the protocol has no big requests). */
const MAX_REQUEST_BYTES = 4096;
/** A client that says nothing for this long is disconnected. */
const IDLE_TIMEOUT_MS = 10_000;
/** cl_status gives up after 5 s; so does the client. */
export const CLIENT_TIMEOUT_MS = 5_000;
const CONTROL_GROUP = "haclient";
const SOCKET_MODE = 0o660;

export function controlSocketPath(runDir: string): string {
  return join(runDir, CONTROL_SOCKET_NAME);
}

function groupId(name: string): number | null {
  try {
    for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
      const [g, , gid] = line.split(":");
      if (g === name && gid !== undefined) return Number(gid);
    }
  } catch {
    /* no /etc/group: no group to set */
  }
  return null;
}

export type RequestHandler = (req: ControlRequest) => ControlResponse;
/** Requests beyond ControlRequest (fence-confirm…): an answer, or null when it is not one of them. */
export type ExtraRequestHandler = (raw: unknown) => object | null;

/** Whether something answers on the socket (a live agent) — bounded by CLIENT_TIMEOUT_MS. */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection(path);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, CLIENT_TIMEOUT_MS);
    sock.on("connect", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.on("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

export async function serveControl(path: string, handle: RequestHandler, onError: (e: Error) => void, extra?: ExtraRequestHandler): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (existsSync(path)) {
    // Two agents on one run dir would fight over the node; the second refuses.
    if (await socketIsLive(path)) throw new Error(`another lubdubd is already running (it answers on ${path})`);
    unlinkSync(path); // a stale socket from a run that ended without cleaning up
  }
  const server = createServer((sock: Socket) => {
    let buf = "";
    sock.setTimeout(IDLE_TIMEOUT_MS, () => sock.destroy());
    sock.on("error", () => sock.destroy());
    sock.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      if (buf.length > MAX_REQUEST_BYTES) {
        sock.end(JSON.stringify({ ok: false, error: "request too long" }) + "\n");
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let response: object;
        try {
          const raw = JSON.parse(line) as unknown;
          const req = parseControlRequest(raw);
          response = req ? handle(req) : (extra?.(raw) ?? { ok: false, error: `unknown request ${JSON.stringify(line.slice(0, 80))}` });
        } catch {
          response = { ok: false, error: "request is not JSON" };
        }
        sock.write(JSON.stringify(response) + "\n");
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      server.on("error", onError);
      chmodSync(path, SOCKET_MODE);
      const gid = groupId(CONTROL_GROUP);
      if (gid !== null) {
        try {
          chownSync(path, -1, gid);
        } catch (e) {
          onError(new Error(`cannot give ${path} to group ${CONTROL_GROUP}: ${(e as Error).message}`));
        }
      }
      resolve(server);
    });
  });
}

/** Sends one request; resolves with the response, or rejects (agent not running, timeout). */
export function requestControl(path: string, req: ControlRequest, timeoutMs = CLIENT_TIMEOUT_MS): Promise<ControlResponse> {
  return requestControlRaw(path, req, timeoutMs) as Promise<ControlResponse>;
}

/** requestControl for any request object (those an ExtraRequestHandler answers). */
export function requestControlRaw(path: string, req: object, timeoutMs = CLIENT_TIMEOUT_MS): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on("connect", () => sock.write(JSON.stringify(req) + "\n"));
    sock.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        sock.end();
        try {
          resolve(JSON.parse(buf.slice(0, nl)) as unknown);
        } catch (e) {
          reject(e as Error);
        }
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
