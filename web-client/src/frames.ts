// The server's binary frames (docs/protocol.md, "Binary frames";
// protocol/src/frame.rs): a kind byte, the cart id in 16 bytes, then the
// payload. Kind 1 is a saved document, kind 2 changes back to back, kind 3
// (the `compact` stream) records back to back, each
// `u32 BE n | n bytes of one change | u32 BE m | m bytes of ActivityEvent JSON`.

import type { ActivityEvent } from "./types";

export const FRAME_DOCUMENT = 1;
export const FRAME_CHANGES = 2;
export const FRAME_CHANGE = 3;

const HEADER_LEN = 17;

export interface Frame {
  kind: number;
  cartId: string;
  payload: Uint8Array;
}

/** One change of a kind-3 frame and what it did, for the feed. */
export interface ChangeRecord {
  change: Uint8Array;
  activity: ActivityEvent;
}

/** Splits a frame's header from its payload; undefined when it has no header. */
export function readFrame(bytes: Uint8Array): Frame | undefined {
  if (bytes.length < HEADER_LEN) return undefined;
  return { kind: bytes[0]!, cartId: uuidFromBytes(bytes.subarray(1, HEADER_LEN)), payload: bytes.subarray(HEADER_LEN) };
}

const utf8 = new TextDecoder();

/**
 * The records of a kind-3 payload, in commit order. Throws on a truncated
 * record or an empty payload (no kind-3 frame has none), as the server's
 * decoder refuses them.
 */
export function readRecords(payload: Uint8Array): ChangeRecord[] {
  if (payload.length === 0) throw new RangeError("a kind-3 frame without records");
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const part = (at: number): Uint8Array => {
    if (at + 4 > payload.length) throw new RangeError(`kind-3 record truncated at byte ${at}`);
    const end = at + 4 + view.getUint32(at);
    if (end > payload.length) throw new RangeError(`kind-3 record truncated at byte ${at}`);
    return payload.subarray(at + 4, end);
  };
  const records: ChangeRecord[] = [];
  let at = 0;
  while (at < payload.length) {
    const change = part(at);
    at += 4 + change.length;
    const activity = part(at);
    at += 4 + activity.length;
    records.push({ change, activity: JSON.parse(utf8.decode(activity)) as ActivityEvent });
  }
  return records;
}

function uuidFromBytes(b: Uint8Array): string {
  let hex = "";
  for (const x of b) hex += x.toString(16).padStart(2, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
