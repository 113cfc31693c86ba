// The paper size a PDF export uses by default: US Letter where Letter is the norm, A4 elsewhere.

export type Paper = "a4" | "letter";

/** Regions (ISO 3166) whose offices and courts use US Letter. */
const LETTER_REGIONS = new Set(["US", "CA", "MX", "PH", "CL", "CO", "VE", "PR", "GT", "CR", "SV", "NI", "PA", "DO"]);

/** The default paper for a BCP 47 locale such as "en-US" or "de-DE"; a bare "en" means en-US. */
export function paperFor(locale: string): Paper {
  try {
    const region = new Intl.Locale(locale).maximize().region;
    return region !== undefined && LETTER_REGIONS.has(region) ? "letter" : "a4";
  } catch {
    return "a4";
  }
}

/** A stored choice if it is one we know, else the locale's default. */
export function chosenPaper(stored: string | null, locale: string): Paper {
  return stored === "a4" || stored === "letter" ? stored : paperFor(locale);
}
