// The operator at the device's console: one BayTech RPC session over the
// device's TCP console (the dialogue of the device's console; cluster-glue's
// `stonith -t baytech` speaks the same). The console queues input and runs it
// in order, so the whole session is typed ahead and the answer is awaited.

import { createConnection } from "node:net";

export interface ConsoleAddress {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * Logs in, opens outlet control, sends `command` (e.g. "REBOOT 1", "off 2",
 * "on 2"), waits until everything the console printed matches `until`
 * (no echo: the console does not repeat what is typed), logs out.
 * Resolves with everything the console printed.
 */
export function consoleCommand(a: ConsoleAddress, command: string, until: RegExp, timeoutMs = 15000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: a.host, port: a.port });
    let text = "";
    let sentAfter = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`console: no ${until} within ${timeoutMs} ms after '${command}'`));
    }, timeoutMs);
    sock.on("connect", () => sock.write(`${a.user}\r${a.password}\r1\r${command}\r`));
    sock.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (/Invalid password/.test(text)) {
        clearTimeout(timer);
        sock.destroy();
        reject(new Error("console: login refused"));
        return;
      }
      if (!sentAfter && until.test(text)) {
        sentAfter = true;
        clearTimeout(timer);
        sock.end("MENU\r6\r");
        resolve(text);
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
