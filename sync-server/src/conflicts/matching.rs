//! The conflict-of-interest matching rules: when two party names are "possibly the same". Pure
//! functions, no I/O. In a conflicts check a false alarm is acceptable and a miss is not, so
//! every rule errs towards matching.
//!
//! **Normalisation** ([`normalise`]), applied to stored and searched names alike:
//! 1. Unicode compatibility decomposition (NFKD), then combining marks dropped: accents go
//!    (`Société Générale` → `societe generale`); letters that do not decompose are spelled out
//!    (`ß` → `ss`, `æ` → `ae`, `ø` → `o`, `œ` → `oe`, `ł` → `l`, `đ` → `d`, `þ` → `th`).
//! 2. Lower case.
//! 3. Apostrophes and full stops are removed inside words (`O'Brien` → `obrien`, `S.A.` →
//!    `sa`); every other character that is not a letter or digit separates words (`&`, `,`,
//!    `-`, `/`, brackets…).
//! 4. Runs of single letters are joined (`A C M E` → `acme`), so spaced initials match.
//! 5. The words `the` and `and` are dropped anywhere (`&` separates, so `& Co` is `co`).
//! 6. Legal-form suffixes ([`LEGAL_FORMS`]) are dropped from the end, repeatedly
//!    (`Acme Holding Co. Ltd` → `acme holding`), unless nothing would be left (`Company` stays).
//!
//! **Matching** ([`compare`]) of two normalised names, best rule first:
//! - *same name* (score 1.0): identical words;
//! - *spelling differs* (0.9, less 0.05 per edit): the same number of words and each pair
//!   [`tokens_match`] (typo tolerance), or the names written without spaces match as one word
//!   (`Mac Donald` / `MacDonald`);
//! - *one name contains the other* (0.7): every word of the shorter name (at least
//!   [`MIN_CONTAINED_CHARS`] letters in all) matches a word of the longer one, in order
//!   (`Acme` / `Acme Holdings`, `Smith` / `John Smith`);
//! - otherwise no match.
//!
//! **Typo tolerance** ([`tokens_match`]): words are equal, or the longer is at least 5 characters
//! and the two are 1 edit apart (Damerau-Levenshtein, optimal string alignment: insert, delete,
//! substitute, swap neighbours), or at least 9 characters and at most 2 edits apart. Shorter
//! words must be equal: `Acme` and `Acne` are different companies.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Legal forms dropped from the end of a name, already normalised (no dots, lower case). Two-word
/// forms are listed as their words (`pty ltd` drops as `ltd` then `pty`).
pub const LEGAL_FORMS: &[&str] = &[
    // English-speaking
    "corp",
    "corporation",
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "plc",
    "llp",
    "lp",
    "lllp",
    "pllc",
    "pc",
    "co",
    "company",
    "cos",
    "pty",
    // German, Austrian, Swiss
    "gmbh",
    "ag",
    "kg",
    "kgaa",
    "ohg",
    "ug",
    "ev",
    // French, Spanish, Italian, Portuguese
    "sa",
    "sas",
    "sasu",
    "sarl",
    "eurl",
    "sl",
    "spa",
    "srl",
    "sca",
    "lda",
    "ltda",
    // Dutch, Belgian, Nordic, European
    "bv",
    "nv",
    "bvba",
    "vof",
    "ab",
    "as",
    "asa",
    "oy",
    "oyj",
    "aps",
    "se",
];

/// Words dropped wherever they are.
const FILLER_WORDS: &[&str] = &["the", "and"];

/// A contained name needs at least this many letters, so `A` or `Co` does not flag everyone.
pub const MIN_CONTAINED_CHARS: usize = 3;

/// A name after normalisation: its words. `key()` is what the server stores and searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalName {
    pub words: Vec<String>,
}

impl NormalName {
    /// The words joined by single spaces (empty when the name had no letters or digits).
    pub fn key(&self) -> String {
        self.words.join(" ")
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// Letters that NFKD does not decompose into a base letter and marks.
fn spell_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' | 'Æ' => "ae",
        'ø' | 'Ø' => "o",
        'œ' | 'Œ' => "oe",
        'ł' | 'Ł' => "l",
        'đ' | 'Đ' => "d",
        'þ' | 'Þ' => "th",
        'ı' => "i",
        _ => return None,
    })
}

/// Normalise a party's name (the rules are in the module's documentation).
pub fn normalise(name: &str) -> NormalName {
    let mut text = String::with_capacity(name.len());
    for c in name.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        if let Some(spelled) = spell_out(c) {
            text.push_str(spelled);
            continue;
        }
        for lower in c.to_lowercase() {
            match lower {
                '\'' | '’' | '‘' | '`' | '.' => {}
                c if c.is_alphanumeric() => text.push(c),
                _ => text.push(' '),
            }
        }
    }
    // Join runs of single letters: "a c m e" → "acme".
    let mut words: Vec<String> = Vec::new();
    let mut initials = String::new();
    for word in text.split_whitespace() {
        if word.chars().count() == 1 && word.chars().all(char::is_alphabetic) {
            initials.push_str(word);
            continue;
        }
        if !initials.is_empty() {
            words.push(std::mem::take(&mut initials));
        }
        words.push(word.to_owned());
    }
    if !initials.is_empty() {
        words.push(initials);
    }
    words.retain(|word| !FILLER_WORDS.contains(&word.as_str()));
    while words.len() > 1
        && words
            .last()
            .is_some_and(|word| LEGAL_FORMS.contains(&word.as_str()))
    {
        words.pop();
    }
    NormalName { words }
}

/// Damerau-Levenshtein distance (optimal string alignment) between two words, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in table.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in table.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[(i - 1) * width + j] + 1)
                .min(table[i * width + j - 1] + 1)
                .min(table[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[(i - 2) * width + j - 2] + 1);
            }
            table[i * width + j] = best;
        }
    }
    table[a.len() * width + b.len()]
}

/// The edits allowed between two words whose longer one has `length` characters.
fn allowed_edits(length: usize) -> usize {
    match length {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Whether two normalised words are the same word, allowing small typos: `Some(edits)`.
pub fn tokens_match(a: &str, b: &str) -> Option<usize> {
    if a == b {
        return Some(0);
    }
    let length = a.chars().count().max(b.chars().count());
    let allowed = allowed_edits(length);
    if allowed == 0 {
        return None;
    }
    let edits = edit_distance(a, b);
    (edits <= allowed).then_some(edits)
}

/// Why two names match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    SameName,
    SpellingDiffers,
    NameContained,
}

/// A match of two names: how close (0–1, higher first) and by which rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameMatch {
    pub score: f64,
    pub rule: MatchRule,
}

/// Each word of `short` matches a word of `long`, in order: the total edits.
fn contained(short: &[String], long: &[String]) -> Option<usize> {
    let mut edits = 0;
    let mut rest = long.iter();
    for word in short {
        edits += rest.find_map(|candidate| tokens_match(word, candidate))?;
    }
    Some(edits)
}

/// Whether two normalised names are possibly the same party (the rules are in the module's
/// documentation). Empty names match nothing.
pub fn compare(a: &NormalName, b: &NormalName) -> Option<NameMatch> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a.words == b.words {
        return Some(NameMatch {
            score: 1.0,
            rule: MatchRule::SameName,
        });
    }
    let spelling = |edits: usize| NameMatch {
        score: (0.9 - 0.05 * edits as f64).max(0.75),
        rule: MatchRule::SpellingDiffers,
    };
    if a.words.len() == b.words.len() {
        let edits: Option<usize> = a
            .words
            .iter()
            .zip(&b.words)
            .map(|(x, y)| tokens_match(x, y))
            .sum();
        if let Some(edits) = edits {
            return Some(spelling(edits));
        }
    }
    if let Some(edits) = tokens_match(&a.words.concat(), &b.words.concat()) {
        return Some(spelling(edits));
    }
    let (short, long) = if a.words.len() <= b.words.len() {
        (a, b)
    } else {
        (b, a)
    };
    let letters: usize = short.words.iter().map(|word| word.chars().count()).sum();
    if letters >= MIN_CONTAINED_CHARS
        && let Some(edits) = contained(&short.words, &long.words)
    {
        return Some(NameMatch {
            score: (0.7 - 0.05 * edits as f64).max(0.55),
            rule: MatchRule::NameContained,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> String {
        normalise(name).key()
    }

    fn matches(a: &str, b: &str) -> Option<MatchRule> {
        compare(&normalise(a), &normalise(b)).map(|found| found.rule)
    }

    #[test]
    fn rule_1_accents_and_special_letters_are_spelled_plainly() {
        assert_eq!(key("Société Générale"), "societe generale");
        assert_eq!(key("Müller-Lüdenscheidt"), "muller ludenscheidt");
        assert_eq!(key("Straße"), "strasse");
        assert_eq!(key("Ørsted"), "orsted");
        assert_eq!(key("Łódź"), "lodz");
        assert_eq!(key("Ｆｕｌｌｗｉｄｔｈ"), "fullwidth");
    }

    #[test]
    fn rule_2_and_3_case_and_punctuation() {
        assert_eq!(key("ACME"), "acme");
        assert_eq!(key("O'Brien & Sons"), "obrien sons");
        assert_eq!(
            key("Smith, Jones / Partners (UK)"),
            "smith jones partners uk"
        );
        assert_eq!(key("  Acme   Widgets  "), "acme widgets");
    }

    #[test]
    fn rule_4_spaced_initials_join() {
        assert_eq!(key("A. C. M. E. Widgets"), "acme widgets");
        assert_eq!(key("I B M"), "ibm");
        assert_eq!(key("IBM"), "ibm");
    }

    #[test]
    fn rule_5_the_and_and_are_dropped() {
        assert_eq!(key("The Acme Company"), "acme");
        assert_eq!(key("Smith and Jones"), key("Smith & Jones"));
    }

    #[test]
    fn rule_6_legal_forms_are_dropped_from_the_end() {
        for name in [
            "Acme Corp.",
            "ACME Corporation",
            "Acme, Inc.",
            "Acme Incorporated",
            "Acme LLC",
            "Acme Ltd",
            "Acme Limited",
            "Acme plc",
            "Acme GmbH",
            "Acme AG",
            "Acme S.A.",
            "Acme SARL",
            "Acme B.V.",
            "Acme N.V.",
            "Acme LLP",
            "Acme L.P.",
            "Acme Co.",
            "Acme Company",
            "Acme & Co.",
            "Acme GmbH & Co. KG",
            "Acme Pty Ltd",
            "The Acme Corporation",
        ] {
            assert_eq!(key(name), "acme", "{name}");
        }
        // Only at the end, and never down to nothing.
        assert_eq!(key("Corporation of London"), "corporation of london");
        assert_eq!(key("Company"), "company");
        assert_eq!(key("Inc."), "inc");
    }

    #[test]
    fn names_without_letters_match_nothing() {
        assert!(normalise(" .,- ").is_empty());
        assert_eq!(matches("---", "---"), None);
    }

    #[test]
    fn the_issue_examples_all_match() {
        for (a, b) in [
            ("Acme Corp.", "ACME Corporation"),
            ("Acme Corp.", "Acme, Inc."),
            ("ACME Corporation", "Acme, Inc."),
            ("Société Générale", "Societe Generale S.A."),
        ] {
            assert_eq!(matches(a, b), Some(MatchRule::SameName), "{a} / {b}");
        }
    }

    #[test]
    fn typo_tolerance_grows_with_word_length() {
        // Four letters or fewer: exact only.
        assert_eq!(tokens_match("acme", "acne"), None);
        assert_eq!(tokens_match("acme", "acme"), Some(0));
        // Five to eight: one edit (substitution, insertion, deletion, swap of neighbours).
        assert_eq!(tokens_match("globex", "glubex"), Some(1));
        assert_eq!(tokens_match("smith", "smtih"), Some(1));
        assert_eq!(tokens_match("smith", "smiths"), Some(1));
        assert_eq!(tokens_match("globex", "glubax"), None);
        // Nine or more: two edits.
        assert_eq!(tokens_match("wolfeschlegel", "wolfshclegel"), Some(2));
        assert_eq!(tokens_match("initech", "intiehc"), None);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ca", "ac"), 1);
    }

    #[test]
    fn a_typo_matches_with_a_lower_score() {
        let found = compare(&normalise("Globex Corporation"), &normalise("Glubex Corp")).unwrap();
        assert_eq!(found.rule, MatchRule::SpellingDiffers);
        assert!(found.score < 1.0 && found.score >= 0.75);
        assert_eq!(
            matches("Mac Donald Ltd", "MacDonald"),
            Some(MatchRule::SpellingDiffers)
        );
    }

    #[test]
    fn a_contained_name_matches_with_a_lower_score() {
        assert_eq!(
            matches("Acme", "Acme Holdings Ltd"),
            Some(MatchRule::NameContained)
        );
        assert_eq!(
            matches("John Smith", "Smith"),
            Some(MatchRule::NameContained)
        );
        assert_eq!(
            matches("Smtih", "John Smith"),
            Some(MatchRule::NameContained)
        );
        // Too short to flag on its own.
        assert_eq!(matches("AB", "AB Foods"), None);
    }

    #[test]
    fn different_parties_do_not_match() {
        assert_eq!(matches("Acme Corp", "Acne Corp"), None);
        assert_eq!(matches("Globex", "Initech"), None);
        assert_eq!(matches("John Smith", "Jane Doe"), None);
        assert_eq!(matches("Société Générale", "BNP Paribas"), None);
    }

    #[test]
    fn scores_rank_exact_above_typo_above_contained() {
        let exact = compare(&normalise("Acme Inc"), &normalise("ACME")).unwrap();
        let typo = compare(&normalise("Globex"), &normalise("Glubex")).unwrap();
        let contained = compare(&normalise("Acme"), &normalise("Acme Holdings")).unwrap();
        assert!(exact.score > typo.score && typo.score > contained.score);
    }
}
