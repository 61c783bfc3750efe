// A stand-in for an Espruino board's REPL on a local TCP port, for testing the
// flash tool through the real espruino CLI (`-p tcp://127.0.0.1:PORT`): it
// answers the CLI's board-identification probe (`print("<","<<",
// JSON.stringify(process.env),">>",">")`) like a 2v29 board, runs the
// `require("Storage").write(...)` lines the CLI sends against a Storage map
// (in a vm sandbox that has nothing else), and records every other line.

import { createServer, type Server, type Socket } from "node:net";
import { createContext, runInContext } from "node:vm";

export const FAKE_ENV = {
  VERSION: "2v29",
  GIT_COMMIT: "0000000",
  BOARD: "PICO_R1_3",
  RAM: 98304,
  SERIAL: "00000000-00000000-00000000",
  CONSOLE: "USB",
  MODULES: "Flash,Storage,heatshrink,fs,crypto,neopixel",
  EXPTR: 536871212,
};

export class FakeEspruino {
  /** Storage files as written by the uploaded commands. */
  readonly storage: { [name: string]: string } = {};
  /** Every line received, without the 0x10 "no echo" prefix. */
  readonly lines: string[] = [];
  /** Storage writes in order: file name and offset. */
  readonly writes: { name: string; offset: number }[] = [];
  private server: Server | null = null;
  private sockets: Socket[] = [];

  listen(): Promise<number> {
    return new Promise((done) => {
      this.server = createServer((sock) => this.session(sock));
      this.server.listen(0, "127.0.0.1", () => {
        const addr = this.server!.address();
        done(typeof addr === "object" && addr !== null ? addr.port : 0);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((done) => (this.server ? this.server.close(() => done()) : done()));
  }

  private session(sock: Socket): void {
    this.sockets.push(sock);
    let pending = "";
    const storage = this.storage;
    const writes = this.writes;
    const sandbox = createContext({
      atob: (b64: string) => Buffer.from(b64, "base64").toString("latin1"),
      require: (name: string) => {
        if (name !== "Storage") throw new Error(`module ${name} not in the fake`);
        return {
          write: (file: string, data: string, offset?: number, size?: number) => {
            writes.push({ name: file, offset: offset === undefined ? 0 : offset });
            const old = storage[file] === undefined || offset === undefined || offset === 0 ? "" : storage[file]!;
            let text = old.substring(0, offset === undefined ? 0 : offset) + data;
            if (size !== undefined && offset === 0) text = data; // a new file of `size` bytes begins
            storage[file] = text;
            return true;
          },
        };
      },
    });
    sock.setEncoding("latin1");
    sock.on("error", () => {});
    sock.on("data", (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        let line = pending.substring(0, nl).replace(/\r$/, "");
        pending = pending.substring(nl + 1);
        while (line.charCodeAt(0) === 0x10 || line.charCodeAt(0) === 3) line = line.substring(1);
        this.lines.push(line);
        // The probe is a line of its own; code that mentions process.env and print (the bundle does) is not it.
        if (line.startsWith("print(") && line.indexOf("JSON.stringify(process.env)") >= 0) {
          sock.write(`< << ${JSON.stringify(FAKE_ENV)} >> >\r\n>`);
        } else if (line.startsWith('require("Storage").write(')) {
          try {
            runInContext(line, sandbox, { timeout: 1000 });
            sock.write("=true\r\n>");
          } catch (e) {
            sock.write(`Uncaught ${(e as Error).message}\r\n>`);
          }
        } else {
          sock.write("\r\n>");
        }
      }
    });
  }
}
