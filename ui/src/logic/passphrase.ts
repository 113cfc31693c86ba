// The rules for a passphrase that protects this computer's data (as the app's Vault enforces).
export const MIN_PASSPHRASE_CHARS = 10;

/** What is wrong with a new passphrase and its confirmation, or null. */
export function passphraseProblem(passphrase: string, again: string): string | null {
  if ([...passphrase].length < MIN_PASSPHRASE_CHARS) {
    return `The passphrase must have at least ${MIN_PASSPHRASE_CHARS} characters.`;
  }
  if (passphrase !== again) return "The two passphrases differ. Type the same passphrase twice.";
  return null;
}
