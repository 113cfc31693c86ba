// Numbered clauses: an ordered list whose numbers run on through the whole draft and nest as
// 1. / 1.1. / 1.1.1. (CSS counters in styles.css; Word numbering in the .docx export).
import { mergeAttributes } from "@tiptap/core";
import { OrderedList } from "@tiptap/extension-ordered-list";

declare module "@tiptap/core" {
  interface Commands<ReturnType> {
    clauseList: {
      toggleClauseList: () => ReturnType;
    };
  }
}

export const ClauseList = OrderedList.extend({
  name: "clauseList",
  parseHTML() {
    return [{ tag: 'ol[data-type="clauses"]', priority: 60 }];
  },
  renderHTML({ HTMLAttributes }) {
    return ["ol", mergeAttributes(HTMLAttributes, { "data-type": "clauses", class: "clauses" }), 0];
  },
  addCommands() {
    return {
      toggleClauseList:
        () =>
        ({ commands }) =>
          commands.toggleList(this.name, this.options.itemTypeName, this.options.keepMarks),
    };
  },
  addKeyboardShortcuts() {
    return { "Mod-Shift-8": () => this.editor.commands.toggleClauseList() };
  },
  addInputRules() {
    return [];
  },
});
