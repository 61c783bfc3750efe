// A DeviceLink on a tty of its own: the device's host port opened with
// serialport's native binding (8N1, raw, the given baud, no flow control
// unless asked), read through the protocol's streaming deframer. Frames that
// are not device messages (heartbeats the device relays from the other host)
// are counted and dropped: this link is for talking to the device only.

import { LinuxBinding, type LinuxPortBinding } from "@serialport/bindings-cpp";
import { Deframer, decodeClassicMessage, isDeviceMessage } from "@lubdub/protocol";
import { type DeviceLink, LinkListeners } from "./link.js";

export const DEFAULT_DEVICE_BAUD = 19200;
/** Opening a tty that does not answer (a wedged USB adapter) is bounded too. */
export const SERIAL_OPEN_TIMEOUT_MS = 5000;

export interface SerialLinkOptions {
  baud?: number;
  rtscts?: boolean;
}

export class SerialDeviceLink implements DeviceLink {
  private readonly listeners = new LinkListeners();
  private readonly deframer = new Deframer();
  private closing = false;
  private isUp = true;
  /** Non-device frames seen (relayed heartbeats). */
  otherFrames = 0;

  private constructor(
    readonly name: string,
    private readonly port: LinuxPortBinding,
  ) {
    void this.readLoop();
  }

  static async open(path: string, o: SerialLinkOptions = {}): Promise<SerialDeviceLink> {
    let timer: NodeJS.Timeout | undefined;
    const port = await Promise.race([
      LinuxBinding.open({ path, baudRate: o.baud ?? DEFAULT_DEVICE_BAUD, rtscts: o.rtscts ?? false, hupcl: false }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${path}: not open within ${SERIAL_OPEN_TIMEOUT_MS} ms`)), SERIAL_OPEN_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    return new SerialDeviceLink(path, port);
  }

  get up(): boolean {
    return this.isUp && this.port.isOpen;
  }

  async send(frame: string): Promise<void> {
    if (!this.up) throw new Error(`${this.name}: link is down`);
    await this.port.write(Buffer.from(frame, "latin1"));
  }

  subscribe(listener: Parameters<DeviceLink["subscribe"]>[0]): () => void {
    return this.listeners.subscribe(listener);
  }

  onDown(listener: (why: Error) => void): () => void {
    return this.listeners.onDown(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.isUp = false;
    if (this.port.isOpen) {
      try {
        await this.port.close();
      } catch {
        // already gone
      }
    }
  }

  private async readLoop(): Promise<void> {
    const buf = Buffer.alloc(4096);
    for (;;) {
      let n: number;
      try {
        n = (await this.port.read(buf, 0, buf.length)).bytesRead;
      } catch (e) {
        this.isUp = false;
        if (!this.closing) {
          this.listeners.down(e as Error);
          void this.close();
        }
        return;
      }
      for (const ev of this.deframer.push(buf.toString("latin1", 0, n))) {
        if (ev.frame === null) continue;
        const d = ev.frame.startsWith(">>>") ? decodeClassicMessage(ev.frame, 0, 0) : null;
        if (d === null || !d.ok || !isDeviceMessage(d.message)) {
          this.otherFrames++;
          continue;
        }
        this.listeners.frame(d.message, ev.frame);
      }
    }
  }
}
