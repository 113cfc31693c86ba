import { useState } from "preact/hooks";
import { ipc, errorMessage, type CaseFields } from "../ipc";

export function NewCaseForm({
  defaultResponsible,
  onCancel,
  onCreated,
}: {
  defaultResponsible: string;
  onCancel: () => void;
  onCreated: (id: string) => void;
}) {
  const [fields, setFields] = useState<CaseFields>({
    title: "",
    client: "",
    matter_number: "",
    practice_area: "",
    status: "open",
    responsible: defaultResponsible,
    notes: "",
  });
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const field = (key: keyof CaseFields, label: string, testid?: string) => (
    <label>
      {label}
      <input
        value={fields[key]}
        onInput={(e) => setFields({ ...fields, [key]: e.currentTarget.value })}
        data-testid={testid}
      />
    </label>
  );
  const submit = (event: Event) => {
    event.preventDefault();
    if (!fields.title.trim()) {
      setError("Give the matter a title.");
      return;
    }
    setSaving(true);
    ipc
      .createCase(fields)
      .then(onCreated)
      .catch((e: unknown) => {
        setError(errorMessage(e));
        setSaving(false);
      });
  };
  return (
    <form class="card form" onSubmit={submit} data-testid="new-matter-form">
      <h2>New matter</h2>
      <div class="grid">
        {field("title", "Title", "matter-title")}
        {field("client", "Client", "matter-client")}
        {field("matter_number", "Matter number")}
        {field("practice_area", "Practice area")}
        {field("responsible", "Responsible lawyer")}
        <label>
          Status
          <select value={fields.status} onChange={(e) => setFields({ ...fields, status: e.currentTarget.value })}>
            <option value="open">Open</option>
            <option value="pending">Pending</option>
            <option value="closed">Closed</option>
          </select>
        </label>
      </div>
      {error && <p class="error">{error}</p>}
      <div class="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button class="primary" type="submit" disabled={saving} data-testid="create-matter">
          Create matter
        </button>
      </div>
    </form>
  );
}
