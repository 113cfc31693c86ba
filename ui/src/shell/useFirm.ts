// What the firm's server says about the lawyer and their matters, for any screen: whether they
// are a firm admin, and which matters are under legal hold. Asking also records the holds on
// this computer (the store then refuses deletions in held matters, offline too). Without a
// server, or offline, nothing is held as far as the window knows and nobody is an admin.
import { useEffect, useState } from "preact/hooks";
import { ipc, type FirmMatter, type FirmRoles } from "../ipc";
import { holdsById, type Hold } from "../logic/holds";

export interface FirmView {
  me: FirmRoles | null;
  holds: Map<string, Hold>;
  /** After a hold is placed or lifted: the server's new listing. */
  setMatters: (matters: FirmMatter[]) => void;
}

export function useFirm(): FirmView {
  const [me, setMe] = useState<FirmRoles | null>(null);
  const [holds, setHolds] = useState<Map<string, Hold>>(new Map());
  useEffect(() => {
    let live = true;
    ipc
      .firmRoles()
      .then((found) => live && setMe(found))
      .catch(() => live && setMe(null));
    ipc
      .firmMatters()
      .then((matters) => live && setHolds(holdsById(matters)))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  return { me, holds, setMatters: (matters) => setHolds(holdsById(matters)) };
}
