import * as encoding from "lib0/encoding";
import type { AwarenessState } from "../ipc";

/**
 * Encode collaborators' awareness states (as the Rust sync client reports them) into a
 * y-protocols awareness update, so `applyAwarenessUpdate` can merge them into the editor's
 * Awareness exactly as if they had come over a socket.
 */
export function encodeAwarenessUpdate(states: AwarenessState[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, states.length);
  for (const entry of states) {
    encoding.writeVarUint(encoder, entry.client_id);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, entry.state);
  }
  return encoding.toUint8Array(encoder);
}

const COLOURS = ["#b3261e", "#1b6e3a", "#6a3fb5", "#a15c00", "#005f8f", "#8f2d6e", "#3d5a00", "#7a4a2a"];

/** A stable colour for a collaborator's name. */
export function colourFor(name: string): string {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
  return COLOURS[hash % COLOURS.length] ?? "#005f8f";
}
