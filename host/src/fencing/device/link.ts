// How the host-side device client reaches the lubdub device: a DeviceLink
// carries ldev-* frames both ways. Two providers:
//  - SerialDeviceLink (serial-link.ts): opens the device's host port itself
//    (fence_lubdub, external/lubdub, or a `lubdub` fence type on a tty that
//    is not a heartbeat medium);
//  - the serial heartbeat medium, when ha.cf's `serial` line is the port the
//    device is on: the medium owns the tty, hands every frame whose decoded
//    `t` starts with "ldev-" to the link's subscribers (instead of to
//    membership) and writes the client's frames between its heartbeats.

import type { Message } from "@lubdub/protocol";

export interface DeviceLink {
  /** For logs: the tty path. */
  readonly name: string;
  /** Whether the link can carry a frame now (tty open). */
  readonly up: boolean;
  /** Writes one encoded classic frame (">>>\n…<<<\n"). Rejects when the link is down. */
  send(frame: string): Promise<void>;
  /**
   * Calls `listener` for every device message (decoded classic frame whose
   * `t` starts with "ldev-") that arrives. Returns the unsubscribe function.
   */
  subscribe(listener: (msg: Message, raw: string) => void): () => void;
  /** Calls `listener` when the link goes down (tty closed, hang-up). Returns the unsubscribe function. */
  onDown?(listener: (why: Error) => void): () => void;
}

/** A fan-out helper for DeviceLink implementations. */
export class LinkListeners {
  private frames = new Set<(msg: Message, raw: string) => void>();
  private downs = new Set<(why: Error) => void>();

  subscribe(listener: (msg: Message, raw: string) => void): () => void {
    this.frames.add(listener);
    return () => this.frames.delete(listener);
  }

  onDown(listener: (why: Error) => void): () => void {
    this.downs.add(listener);
    return () => this.downs.delete(listener);
  }

  frame(msg: Message, raw: string): void {
    for (const l of [...this.frames]) l(msg, raw);
  }

  down(why: Error): void {
    for (const l of [...this.downs]) l(why);
  }
}
