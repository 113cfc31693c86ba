// The stock collaboration-caret extension, with one change: after a local edit or caret move, it
// tells collaborators where our caret now is once the keystroke's frame is painted, rather than
// inside the keystroke's transaction. Working that out walks the draft's paragraphs up to the
// caret (twice, anchor and head: 0.18–0.26 ms a keystroke at 1,500 paragraphs, docs/BENCHMARKS.md
// "Session 19"), and nothing on our own screen waits for it. Keystrokes within one frame share
// one update. A change from a collaborator is handled at once, as before.
import CollaborationCaret from "@tiptap/extension-collaboration-caret";
import type { Plugin } from "@tiptap/pm/state";
import { ySyncPluginKey } from "@tiptap/y-tiptap";
import { afterPaint } from "../logic/afterPaint";

export const DeferredCollaborationCaret = CollaborationCaret.extend({
  addProseMirrorPlugins() {
    const plugins = this.parent?.() ?? [];
    for (const plugin of plugins) deferLocalUpdates(plugin);
    return plugins;
  },
});

/** Makes `plugin`'s view update after the next paint, except for changes from collaborators. */
export function deferLocalUpdates(plugin: Plugin): void {
  const makeView = plugin.spec.view;
  if (!makeView) return;
  plugin.spec.view = (view) => {
    const inner = makeView(view);
    let pending = false;
    let destroyed = false;
    return {
      update: (current, prevState) => {
        const sync = ySyncPluginKey.getState(current.state) as { isChangeOrigin?: boolean } | undefined;
        if (sync?.isChangeOrigin) {
          inner.update?.(current, prevState);
          return;
        }
        if (pending) return;
        pending = true;
        afterPaint(() => {
          pending = false;
          // The state now is the one to publish; as `prevState` it tells the plugin that no
          // collaborator's change is pending (those were handled at once).
          if (!destroyed) inner.update?.(view, view.state);
        });
      },
      destroy: () => {
        destroyed = true;
        inner.destroy?.();
      },
    };
  };
}
