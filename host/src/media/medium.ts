// A heartbeat medium, as Heartbeat's HBcomm plugins are: something that can
// carry every cluster message to the peer(s) and hand back what arrives. Each
// kind (ucast, bcast, mcast, serial) is one file implementing this interface;
// the agent opens all configured media and sends every message on each, so a
// dead medium never blocks the others.

/** One received message (or frame) and where it came from. */
export interface Arrival {
  /** The raw bytes (a latin1 byte string): one UDP datagram or one deframed serial frame. */
  bytes: string;
  /** Who sent it, for logs: "192.0.2.2:40001" or the tty path. */
  from: string;
}

/** Counters every medium keeps, for status output and benchmarks. */
export interface MediumStats {
  sent: number;
  sendErrors: number;
  received: number;
  /** Bytes dropped before becoming a message (serial noise, oversize datagrams). */
  droppedBytes: number;
  /** Frames dropped by the deframer (truncated, malformed, oversize). */
  droppedFrames: number;
}

/** What a medium is told about the messages it carries. */
export interface OutgoingMessage {
  /** The netstring datagram (what UDP media send). */
  datagram: string;
  /** The classic rendering (what serial media write). */
  classic: string;
}

export interface Medium {
  /** Kind as written in ha.cf: "ucast", "bcast", "mcast", "serial". */
  readonly kind: string;
  /**
   * The link name Heartbeat reports for it: the interface name for UDP media,
   * the device path for serial. cl_status listhblinks prints these.
   */
  readonly linkName: string;
  /** Opens sockets or ports; rejects with an error naming the medium when it cannot. */
  open(onArrival: (a: Arrival) => void, onError: (e: Error) => void): Promise<void>;
  /**
   * Queues one message. Never throws and never blocks: a write that cannot
   * complete is counted and dropped (the next heartbeat will follow).
   */
  send(msg: OutgoingMessage): void;
  /** Closes everything; resolves within a bounded time. */
  close(): Promise<void>;
  readonly stats: MediumStats;
}

export function newMediumStats(): MediumStats {
  return { sent: 0, sendErrors: 0, received: 0, droppedBytes: 0, droppedFrames: 0 };
}
