import * as encoding from "lib0/encoding";
import type { Awareness } from "y-protocols/awareness";
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

/** Which of the palette's colours is a collaborator's (stable for a name). */
export function colourIndexFor(name: string): number {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
  return hash % COLOURS.length;
}

/** A stable colour for a collaborator's name. */
export function colourFor(name: string): string {
  return COLOURS[colourIndexFor(name)] ?? "#005f8f";
}

type ChangeListener = (change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => void;

/**
 * The awareness the caret plugin is given: the same object, except that "change" events about
 * only our own state never reach it. The plugin never draws our own caret, yet each such event
 * (one per keystroke, as our cursor moves) made it dispatch a whole editor transaction.
 */
export function remoteChangesOnly(awareness: Awareness): Awareness {
  const wrapped = new Map<ChangeListener, ChangeListener>();
  return new Proxy(awareness, {
    get(target, property) {
      if (property === "on" || property === "off") {
        return (name: string, listener: ChangeListener) => {
          if (name !== "change") {
            if (property === "on") target.on(name, listener);
            else target.off(name, listener);
            return;
          }
          if (property === "on") {
            const onlyRemote: ChangeListener = (change, origin) => {
              const ids = [...change.added, ...change.updated, ...change.removed];
              if (ids.some((id) => id !== target.clientID)) listener(change, origin);
            };
            wrapped.set(listener, onlyRemote);
            target.on("change", onlyRemote);
          } else {
            const onlyRemote = wrapped.get(listener);
            if (onlyRemote) target.off("change", onlyRemote);
            wrapped.delete(listener);
          }
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
