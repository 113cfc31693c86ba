// How a person of the firm is shown: their name, with the email beside it, from the firm
// directory; an older server (or someone who never signed in) gives only the id.

export interface NamedPerson {
  user_id: string;
  name?: string | null;
  email?: string | null;
}

/** The line to show first, and the one to show after it in muted text (or null). */
export function personLabel(person: NamedPerson): { primary: string; secondary: string | null } {
  const name = person.name?.trim() || null;
  const email = person.email?.trim() || null;
  if (name) return { primary: name, secondary: email };
  if (email) return { primary: email, secondary: null };
  return { primary: person.user_id, secondary: null };
}
