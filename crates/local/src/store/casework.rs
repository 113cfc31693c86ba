//! Casework: the operations the desktop app calls on matters and their drafts, as `Store`
//! methods. Each is one CRDT edit through [`Store::edit`] (durable, outboxed, projections updated
//! in the same transaction) or one query of the projections. What a matter's document holds is
//! `matter_record`; a draft's is `draft`; search is `search`.

use protocol::{CaseId, DocKind, DocName};
use yrs::{Map, ReadTxn, StateVector, Transact, WriteTxn};

use crate::import::{ImportLimits, ImportReport, WordDocument};
use crate::store::draft::{self, DRAFT_META, Draft, VersionInfo};
use crate::store::matter_record::{self, Case, CaseFields, CasePatch, Deadline, Party};
use crate::store::projection::{self, CaseFilter, CaseSummary, DraftSummary, UpcomingDeadline};
use crate::{LocalError, Store, store};

pub const STATUSES: [&str; 3] = ["open", "pending", "closed"];

fn invalid(message: impl Into<String>) -> LocalError {
    LocalError::InvalidInput(message.into())
}

/// `YYYY-MM-DD` with a real month and day.
fn check_date(date: &str) -> Result<(), LocalError> {
    let parts: Vec<&str> = date.split('-').collect();
    let valid = matches!(parts.as_slice(), [year, month, day]
        if year.len() == 4 && month.len() == 2 && day.len() == 2
            && year.parse::<u32>().is_ok()
            && month.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
            && day.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d)));
    if valid {
        Ok(())
    } else {
        Err(invalid(format!(
            "\"{date}\" is not a date: use the form 2026-12-31"
        )))
    }
}

fn check_status(status: &str) -> Result<(), LocalError> {
    if STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(invalid(format!(
            "status must be one of {}, not \"{status}\"",
            STATUSES.join(", ")
        )))
    }
}

fn check_title(title: &str, what: &str) -> Result<(), LocalError> {
    if title.trim().is_empty() {
        Err(invalid(format!("a {what} needs a title")))
    } else {
        Ok(())
    }
}

/// What a new matter says of its conflicts check: `clear` and `proceeded` name the server's
/// check (a UUID); `offline` (the check could not run) names none; older matters say nothing.
fn check_conflict_record(fields: &CaseFields) -> Result<(), LocalError> {
    let names_check = !fields.conflict_check.is_empty();
    if names_check && uuid::Uuid::parse_str(&fields.conflict_check).is_err() {
        return Err(invalid(format!(
            "\"{}\" is not a conflicts check id",
            fields.conflict_check
        )));
    }
    match (fields.conflict_decision.as_str(), names_check) {
        ("clear" | "proceeded", true) | ("offline" | "", false) => Ok(()),
        ("clear" | "proceeded", false) => Err(invalid(
            "a conflicts decision of clear or proceeded names the server's check",
        )),
        ("offline" | "", true) => Err(invalid(
            "a conflicts check id needs the decision taken on it (clear or proceeded)",
        )),
        (other, _) => Err(invalid(format!(
            "the conflicts decision must be clear, proceeded or offline, not \"{other}\""
        ))),
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Store {
    /// Recompute every projection from the documents (after upgrading an older file).
    pub(crate) fn rebuild_projections(&self) -> Result<(), LocalError> {
        for name in self.documents()? {
            let mut guard = self.lock()?;
            let store::Inner { connection, docs } = &mut *guard;
            let entry = store::cached(connection, docs, &name)?;
            let transaction = connection.transaction()?;
            projection::refresh(&transaction, &name, &entry.doc.transact())?;
            transaction.commit()?;
        }
        Ok(())
    }

    /// Create a matter offline; returns its new id (a UUID made here, so no server is needed).
    pub fn create_case(&self, fields: &CaseFields) -> Result<CaseId, LocalError> {
        self.create_case_with_parties(fields, &[])
    }

    /// Create a matter with its first parties (`(role, name)`, empty names skipped) in one
    /// edit, so the server indexes them for the conflicts check with the matter itself.
    pub fn create_case_with_parties(
        &self,
        fields: &CaseFields,
        parties: &[(String, String)],
    ) -> Result<CaseId, LocalError> {
        check_title(&fields.title, "matter")?;
        let mut fields = fields.clone();
        if fields.status.is_empty() {
            fields.status = "open".into();
        }
        check_status(&fields.status)?;
        check_conflict_record(&fields)?;
        let parties: Vec<Party> = parties
            .iter()
            .filter(|(_, name)| !name.trim().is_empty())
            .map(|(role, name)| Party {
                id: new_id(),
                role: role.clone(),
                name: name.trim().to_owned(),
            })
            .collect();
        let id = CaseId::parse(&new_id())?;
        self.edit(&DocName::case(&id), |_, txn| {
            matter_record::create(txn, &fields);
            for party in &parties {
                matter_record::add_party(txn, party);
            }
        })?;
        Ok(id)
    }

    fn case_doc(&self, case_id: &CaseId) -> Result<DocName, LocalError> {
        let name = DocName::case(case_id);
        if self.read(&name, |txn| txn.get_map(matter_record::CASE_MAP).is_none())? {
            return Err(LocalError::NotFound(format!(
                "no matter {case_id} on this computer"
            )));
        }
        Ok(name)
    }

    /// The whole matter, or `NotFound`.
    pub fn case(&self, case_id: &CaseId) -> Result<Case, LocalError> {
        let name = self.case_doc(case_id)?;
        self.read(&name, |txn| matter_record::read(txn, case_id))?
            .ok_or_else(|| LocalError::NotFound(format!("no matter {case_id} on this computer")))
    }

    pub fn update_case(&self, case_id: &CaseId, patch: &CasePatch) -> Result<(), LocalError> {
        if let Some(title) = &patch.title {
            check_title(title, "matter")?;
        }
        if let Some(status) = &patch.status {
            check_status(status)?;
        }
        let name = self.case_doc(case_id)?;
        self.edit(&name, |_, txn| matter_record::apply_patch(txn, patch))?;
        Ok(())
    }

    pub fn add_party(
        &self,
        case_id: &CaseId,
        role: &str,
        party_name: &str,
    ) -> Result<Party, LocalError> {
        if party_name.trim().is_empty() {
            return Err(invalid("a party needs a name"));
        }
        let party = Party {
            id: new_id(),
            role: role.to_owned(),
            name: party_name.trim().to_owned(),
        };
        let name = self.case_doc(case_id)?;
        self.edit(&name, |_, txn| matter_record::add_party(txn, &party))?;
        Ok(party)
    }

    pub fn add_deadline(
        &self,
        case_id: &CaseId,
        date: &str,
        title: &str,
        kind: &str,
    ) -> Result<Deadline, LocalError> {
        check_date(date)?;
        check_title(title, "deadline")?;
        let deadline = Deadline {
            id: new_id(),
            date: date.to_owned(),
            title: title.trim().to_owned(),
            kind: kind.to_owned(),
            done: false,
        };
        let name = self.case_doc(case_id)?;
        self.edit(&name, |_, txn| matter_record::add_deadline(txn, &deadline))?;
        Ok(deadline)
    }

    pub fn set_deadline_done(
        &self,
        case_id: &CaseId,
        id: &str,
        done: bool,
    ) -> Result<(), LocalError> {
        let name = self.case_doc(case_id)?;
        let mut found = false;
        self.edit(&name, |_, txn| {
            found = matter_record::set_deadline_done(txn, id, done)
        })?;
        found
            .then_some(())
            .ok_or_else(|| LocalError::NotFound(format!("no deadline {id}")))
    }

    /// Remove a party (`list` = `parties`) or a deadline (`list` = `deadlines`).
    pub fn remove_from_case(
        &self,
        case_id: &CaseId,
        list: &str,
        id: &str,
    ) -> Result<(), LocalError> {
        if list != "parties" && list != "deadlines" {
            return Err(invalid("only parties and deadlines can be removed"));
        }
        self.refuse_deletion(case_id)?;
        let name = self.case_doc(case_id)?;
        let mut found = false;
        self.edit(&name, |_, txn| found = matter_record::remove(txn, list, id))?;
        found
            .then_some(())
            .ok_or_else(|| LocalError::NotFound(format!("no entry {id} in {list}")))
    }

    /// The dashboard's matters.
    pub fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>, LocalError> {
        let guard = self.lock()?;
        projection::cases(&guard.connection, filter)
    }

    /// Open deadlines up to `days` after `today` (`YYYY-MM-DD`), overdue first.
    pub fn upcoming_deadlines(
        &self,
        today: &str,
        days: u32,
    ) -> Result<Vec<UpcomingDeadline>, LocalError> {
        check_date(today)?;
        let guard = self.lock()?;
        projection::upcoming(&guard.connection, today, days)
    }

    /// A calendar (.ics, RFC 5545) of open deadlines: one matter's, or with `None` every
    /// matter's from `today` (`YYYY-MM-DD`) on. Each deadline keeps its UID across exports, so
    /// importing the file again updates the calendar's events rather than adding copies.
    pub fn deadlines_calendar(
        &self,
        case_id: Option<&CaseId>,
        today: &str,
        name: &str,
    ) -> Result<String, LocalError> {
        check_date(today)?;
        let deadlines = {
            let guard = self.lock()?;
            projection::calendar(&guard.connection, case_id, today)?
        };
        Ok(crate::export::ics::deadlines(
            name,
            &deadlines,
            chrono::Utc::now(),
        ))
    }

    pub fn drafts(&self, case_id: &CaseId) -> Result<Vec<DraftSummary>, LocalError> {
        let guard = self.lock()?;
        projection::drafts(&guard.connection, case_id)
    }

    /// Create an empty draft in a matter; returns its document name.
    pub fn create_draft(&self, case_id: &CaseId, title: &str) -> Result<DocName, LocalError> {
        check_title(title, "draft")?;
        self.case_doc(case_id)?;
        let name = DocName::draft(case_id, &new_id())?;
        self.edit(&name, |_, txn| {
            let meta = txn.get_or_insert_map(DRAFT_META);
            meta.insert(txn, "title", title.trim());
            txn.get_or_insert_xml_fragment(draft::DRAFT_FRAGMENT);
        })?;
        Ok(name)
    }

    /// Import a Word file as a new draft in a matter: the file is read and checked first, then
    /// the draft is created (titled from the file), filled, and its first version saved
    /// ("Imported from …", kind `import`, by `author`) in one edit — so "what changed since we
    /// received it" is always answerable. A refused file (`LocalError::Import`, codes `import_*`)
    /// creates nothing.
    #[tracing::instrument(skip_all, fields(bytes = bytes.len()))]
    pub fn import_docx(
        &self,
        case_id: &CaseId,
        file_name: &str,
        bytes: &[u8],
        author: &str,
    ) -> Result<(DocName, ImportReport), LocalError> {
        self.case_doc(case_id)?;
        let document = WordDocument::parse(bytes, file_name, &ImportLimits::default())?;
        let name = DocName::draft(case_id, &new_id())?;
        let mut report = None;
        self.edit(&name, |_, txn| {
            let meta = txn.get_or_insert_map(DRAFT_META);
            meta.insert(txn, "title", document.title().trim().to_owned());
            report = Some(document.write(txn));
            draft::save_version(
                txn,
                &draft::NewVersion {
                    name: &format!("Imported from {file_name}"),
                    kind: "import",
                    author,
                },
            );
        })?;
        let report = report.ok_or_else(|| invalid("the Word import was not applied; try again"))?;
        Ok((name, report))
    }

    fn draft_doc(doc: &DocName) -> Result<&DocName, LocalError> {
        if doc.kind() != DocKind::Draft {
            return Err(invalid(format!("{doc} is not a draft")));
        }
        Ok(doc)
    }

    pub fn rename_draft(&self, doc: &DocName, title: &str) -> Result<(), LocalError> {
        check_title(title, "draft")?;
        let name = Self::draft_doc(doc)?;
        self.edit(name, |_, txn| {
            let meta = txn.get_or_insert_map(DRAFT_META);
            meta.insert(txn, "title", title.trim());
        })?;
        Ok(())
    }

    /// Delete a draft (a tombstone in its `meta`, which syncs like any edit). Refused on a
    /// matter under legal hold ([`LocalError::LegalHold`], with the hold's reason).
    pub fn delete_draft(&self, doc: &DocName) -> Result<(), LocalError> {
        let name = Self::draft_doc(doc)?;
        self.refuse_deletion(&name.case_id())?;
        self.edit(name, |_, txn| {
            let meta = txn.get_or_insert_map(DRAFT_META);
            meta.insert(txn, "deleted", true);
        })?;
        Ok(())
    }

    /// The whole document as one v1 update (what the editor loads).
    pub fn full_state(&self, doc: &DocName) -> Result<Vec<u8>, LocalError> {
        self.read(doc, |txn| txn.encode_diff_v1(&StateVector::default()))
    }

    /// A draft read for export in one pass: title, blocks with comment ranges, comments.
    pub fn draft_for_export(&self, doc: &DocName) -> Result<Draft, LocalError> {
        let name = Self::draft_doc(doc)?;
        self.read(name, |txn| draft::read(txn))
    }

    /// The draft's saved versions, in the order they were saved.
    pub fn versions(&self, doc: &DocName) -> Result<Vec<VersionInfo>, LocalError> {
        let name = Self::draft_doc(doc)?;
        self.read(name, |txn| draft::versions(txn))
    }

    /// A Word redline between two versions of a draft (ids from [`Store::versions`], or
    /// `"current"` for the draft as it is now): the title and the .docx bytes.
    pub fn redline(
        &self,
        doc: &DocName,
        version_a: &str,
        version_b: &str,
    ) -> Result<(String, Vec<u8>), LocalError> {
        let name = Self::draft_doc(doc)?;
        self.read(name, |txn| {
            crate::export::redline::redline_versions(txn, version_a, version_b)
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::{check_conflict_record, check_date};
    use crate::store::matter_record::CaseFields;

    #[test]
    fn dates_must_be_iso() {
        assert!(check_date("2026-12-31").is_ok());
        for bad in ["2026-13-01", "31/12/2026", "2026-1-1", "", "2026-12-00"] {
            assert!(check_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_conflicts_decision_names_its_check_unless_offline() {
        let record = |check: &str, decision: &str| {
            check_conflict_record(&CaseFields {
                conflict_check: check.into(),
                conflict_decision: decision.into(),
                ..CaseFields::default()
            })
        };
        let id = "7d1f0a52-3c4e-4a8b-9f10-2b3c4d5e6f70";
        assert!(record("", "").is_ok());
        assert!(record("", "offline").is_ok());
        assert!(record(id, "clear").is_ok());
        assert!(record(id, "proceeded").is_ok());
        assert!(record("", "clear").is_err());
        assert!(record(id, "").is_err());
        assert!(record(id, "offline").is_err());
        assert!(record("not-a-uuid", "clear").is_err());
        assert!(record(id, "ignored").is_err());
    }
}
