// Outlet relays on a Linux gateway. Outlets are always state plus a log line
// (event outlet-on / outlet-off, as the simulator); what moves a real relay
// is chosen on the command line:
//
//   --outlet-gpio 17,27,22,...   sysfs GPIO numbers of outlets 1, 2, 3, ...
//                                (exported, set to "out", then written 1/0;
//                                --outlet-active-low writes 0 for on)
//   --outlet-cmd 'CMD'           runs `CMD <n> on|off` through the shell for
//                                every switch (keep it quick: the device
//                                waits for it; a failure is logged)
//
// With neither, outlets are state only (a test bench, a gateway driving its
// relays some other way that reads the status file).

import { luaIo, luaOs } from "../lua/lua.js";

export interface OutletDriverOptions {
  gpio: number[];
  activeLow: boolean;
  cmd: string | null;
}

function writeFile(path: string, text: string): string {
  const f = luaIo.open(path, "w");
  if (f === undefined || f === null) return "cannot open " + path;
  const ok = f.write(text);
  f.close();
  return ok === undefined || ok === null ? "cannot write " + path : "";
}

export class OutletDriver {
  private exported: boolean[] = [];

  constructor(readonly o: OutletDriverOptions) {
    // dense from the start: TSTL arrays must not have holes
    for (let i = 0; i < o.gpio.length; i++) this.exported.push(false);
  }

  /** What drives the relays, for the start-up log. */
  describe(): string {
    if (this.o.cmd !== null) return "command";
    if (this.o.gpio.length > 0) return "gpio";
    return "state";
  }

  /** Moves relay n (1-based); "" or what went wrong. */
  set(n: number, on: boolean): string {
    if (this.o.cmd !== null) {
      const rc = luaOs.execute(this.o.cmd + " " + n + " " + (on ? "on" : "off"));
      return rc === 0 || (rc as unknown) === true ? "" : "outlet command failed (" + rc + "): " + this.o.cmd;
    }
    if (n <= this.o.gpio.length) {
      const pin = this.o.gpio[n - 1]!;
      const base = "/sys/class/gpio/gpio" + pin;
      if (!this.exported[n - 1]) {
        writeFile("/sys/class/gpio/export", "" + pin); // fails harmlessly when already exported
        const why = writeFile(base + "/direction", "out");
        if (why !== "") return why;
        this.exported[n - 1] = true;
      }
      const level = on !== this.o.activeLow ? "1" : "0";
      return writeFile(base + "/value", level);
    }
    return "";
  }
}
