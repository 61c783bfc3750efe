// The protocol works on byte strings (one char per byte). These convert at
// the edge where Node hands over Buffers.

export function bufferToBytes(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("latin1");
}

export function bytesToBuffer(bytes: string): Buffer {
  return Buffer.from(bytes, "latin1");
}
