// The top bar's account: "Ada Lovelace (ada@firm.example)", "… (offline)", or "Signed out —
// please sign in again"; a click opens Settings, where sign-in and sign-out are.
import { accountLabel, type SignInStatus } from "../logic/signIn";

export function SignedInAs({
  status,
  devAccount,
  onOpen,
}: {
  status: SignInStatus;
  devAccount: string | null;
  onOpen: () => void;
}) {
  const label = accountLabel(status, devAccount);
  return (
    <button
      class={`signed-in-as account-${label.tone}`}
      onClick={onOpen}
      title={status.detail ?? label.text}
      data-testid="signed-in-as"
      data-state={status.state}
    >
      {label.text}
    </button>
  );
}
