// The account this computer's data belongs to (server, firm, user) and the matters made here
// before the first sign-in, which stay on this computer until the lawyer uploads them.

export interface Account {
  server: string;
  firm: string;
  user: string;
}

/** What `local_matters` returns. */
export interface LocalMatters {
  /** The account the data belongs to; null before the first sign-in. */
  account: Account | null;
  /** Matters made on this computer before that sign-in, not uploaded anywhere. */
  case_ids: string[];
}

/** The `account-mismatch` event: nothing is synced while another account is signed in. */
export interface AccountMismatch {
  bound: Account;
  signed_in: Account;
  message: string;
}

/** The label of the upload button, or null when there is nothing to offer. */
export function attachLabel(local: LocalMatters): string | null {
  const count = local.case_ids.length;
  if (!local.account || count === 0) return null;
  const matters = count === 1 ? "1 matter" : `${count} matters`;
  return `Upload ${matters} made on this computer to ${local.account.firm}`;
}

/** What the shell says while the signed-in account is not this computer's. */
export function mismatchNotice(mismatch: AccountMismatch): string {
  const { bound } = mismatch;
  return (
    `This computer's Lawyers Hub data belongs to ${bound.user} at ${bound.firm} on ${bound.server}. ` +
    `Sign in as that account, or set that server in Settings, to sync it. ` +
    `Nothing is sent to ${mismatch.signed_in.firm} meanwhile.`
  );
}
