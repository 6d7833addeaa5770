//! Importing reply documents: each one read, checked and recorded as one atomic append (the reply and all its
//! commitments). A field the document does not give (答复单位, 文号, 签发日期) never stops it: the reply is recorded
//! as 待补全 with what is missing, and staff can give the fields for one file (`ImportOptions::overrides`).
//! Idempotent: a document already imported is skipped; a different document under the same organ and number (or
//! the same organ and proposal, when there is no number) is refused for a person to decide. One bad file never stops
//! the batch, and nothing partial is written for it.

use std::path::{Path, PathBuf};

use duban_domain::{
    check_commitment_event, check_reply_event, CommitmentState, Event, ReplyAmended, ReplyRegistered, ReplyState,
};
use duban_ingest::Parsed;
use serde::Serialize;
use ulid::Ulid;

use crate::context::Context;
use crate::error::{refuse, AppError, Result};
use crate::register::{Clash, Registered};
use crate::App;

/// File extensions read when walking a directory.
pub const DOCUMENT_EXTENSIONS: &[&str] = &["txt", "text", "html", "htm", "docx"];

#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// Fields given by staff, which replace what was read (for one file: see [`App::import`]).
    pub overrides: Overrides,
    /// Fields given by staff for files of a batch, by file name (or path as given): see [`Overrides::from_csv`].
    pub per_file: std::collections::HashMap<String, Overrides>,
}

/// Reply fields given by staff at import, in place of what the document gives (or does not).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub organ: Option<String>,
    pub doc_no: Option<String>,
    pub signed_on: Option<chrono::NaiveDate>,
    pub assembly: Option<String>,
    pub session: Option<String>,
    pub number: Option<String>,
}

impl Overrides {
    /// Reads a CSV of overrides for a batch: a header row naming `file` and any of `organ`, `doc_no`, `signed_on`
    /// (YYYY-MM-DD), `assembly`, `session`, `number` (Chinese headers 文件, 答复单位, 文号, 签发日期, 会议, 届次, 编号
    /// also do); then one row per file, empty cells left as read. Refuses a malformed file naming its row.
    pub fn from_csv(bytes: &[u8]) -> Result<std::collections::HashMap<String, Overrides>> {
        let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
            .map_err(|_| AppError::Refused("补全表不是 UTF-8 文本".into()))?;
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|error| AppError::Refused(format!("补全表的表头无法读取：{error}")))?
            .iter()
            .map(|header| header.trim().to_string())
            .collect();
        let column = |names: &[&str]| headers.iter().position(|header| names.contains(&header.as_str()));
        let file = column(&["file", "文件"]).ok_or_else(|| AppError::Refused("补全表须有 file（文件）列".into()))?;
        let columns = [
            column(&["organ", "答复单位"]),
            column(&["doc_no", "文号"]),
            column(&["signed_on", "签发日期"]),
            column(&["assembly", "会议"]),
            column(&["session", "届次"]),
            column(&["number", "编号"]),
        ];
        let mut table = std::collections::HashMap::new();
        for (row, record) in reader.records().enumerate() {
            let line = row + 2;
            let record = record.map_err(|error| AppError::Refused(format!("补全表第 {line} 行无法读取：{error}")))?;
            let cell = |at: Option<usize>| {
                at.and_then(|at| record.get(at)).map(str::trim).filter(|cell| !cell.is_empty()).map(String::from)
            };
            let name = cell(Some(file)).ok_or_else(|| AppError::Refused(format!("补全表第 {line} 行没有文件名")))?;
            let signed_on = match cell(columns[2]) {
                None => None,
                Some(date) => Some(date.parse().map_err(|_| {
                    AppError::Refused(format!("补全表第 {line} 行的签发日期“{date}”无效，应为 YYYY-MM-DD"))
                })?),
            };
            let overrides = Overrides {
                organ: cell(columns[0]),
                doc_no: cell(columns[1]),
                signed_on,
                assembly: cell(columns[3]),
                session: cell(columns[4]),
                number: cell(columns[5]),
            };
            if table.insert(name.clone(), overrides).is_some() {
                return Err(AppError::Refused(format!("补全表第 {line} 行：文件 {name} 出现两次")));
            }
        }
        Ok(table)
    }

    pub fn is_empty(&self) -> bool {
        self.organ.is_none()
            && self.doc_no.is_none()
            && self.signed_on.is_none()
            && self.assembly.is_none()
            && self.session.is_none()
            && self.number.is_none()
    }

    fn apply(&self, parsed: &mut Parsed) {
        let reply = &mut parsed.reply;
        let given = |value: &Option<String>| value.as_ref().map(|text| text.trim().to_string());
        if let Some(organ) = given(&self.organ) {
            reply.organ = Some(organ);
        }
        if let Some(doc_no) = given(&self.doc_no) {
            reply.doc_no = Some(doc_no);
        }
        if let Some(signed_on) = self.signed_on {
            reply.signed_on = Some(signed_on);
        }
        if let Some(assembly) = given(&self.assembly) {
            reply.assembly = Some(assembly);
        }
        if let Some(session) = given(&self.session) {
            reply.session = Some(session);
        }
        if let Some(number) = given(&self.number) {
            reply.number = Some(number);
        }
    }
}

/// What became of one file.
#[derive(Clone, Debug, Serialize)]
pub struct FileOutcome {
    pub file: String,
    /// `imported`, `would_import` (dry run), `skipped` or `failed`.
    pub status: &'static str,
    pub reply_id: Option<String>,
    /// The reply's 编号 (`#12`) once written.
    pub reply_number: Option<u64>,
    /// The proposal it was linked to (by assembly, session and number), as its 编号.
    pub proposal_number: Option<u64>,
    pub commitments: usize,
    pub reason: Option<String>,
    /// What the reply's registration lacks (待补全: 答复单位, 文号, 签发日期).
    pub missing: Vec<&'static str>,
}

/// What an import did (`import --json`).
#[derive(Clone, Debug, Serialize)]
pub struct ImportSummary {
    pub dry_run: bool,
    pub imported: usize,
    pub skipped: usize,
    pub failed: usize,
    pub commitments: usize,
    /// Imported replies whose registration lacks a field (待补全).
    pub incomplete: usize,
    pub files: Vec<FileOutcome>,
    /// A store fault that ended the import after the files above (each imported one is durable): the summary is
    /// still given, and the caller reports the fault after it.
    pub stopped: Option<String>,
}

/// Reads and parses a document, naming the file in any error. Only a regular file is opened (a FIFO would block, a
/// device never end), and no more than the largest document accepted is read, whatever its size said.
pub fn read_document(path: &Path) -> Result<Parsed> {
    use std::io::Read;
    let unreadable = |error: std::io::Error| AppError::Refused(format!("无法读取 {}：{error}", path.display()));
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return refuse(format!("{} 不是普通文件（设备、管道或套接字），不能作为答复文件读取", path.display()));
    }
    let file = path.display().to_string();
    let max = duban_ingest::MAX_DOCUMENT_BYTES;
    let too_large =
        |size: usize| AppError::Ingest { file: file.clone(), error: duban_ingest::IngestError::TooLarge { size, max } };
    if meta.len() > max as u64 {
        return Err(too_large(meta.len() as usize));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|opened| opened.take(max as u64 + 1).read_to_end(&mut bytes))
        .map_err(unreadable)?;
    if bytes.len() > max {
        return Err(too_large(bytes.len()));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    duban_ingest::parse(&bytes, &name).map_err(|error| AppError::Ingest { file, error })
}

/// The files named, and the documents below the folders named, in a stable order. Symbolic links are followed, but
/// a folder is walked once however many ways lead to it (so a link loop ends). Entries that are not regular files
/// are kept, so that each gets its own refusal when read.
pub fn collect_documents(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut walked = std::collections::HashSet::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files, &mut walked)?;
        } else if path.exists() || path.symlink_metadata().is_ok() {
            files.push(path.clone());
        } else {
            return refuse(format!("找不到 {}", path.display()));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, walked: &mut std::collections::HashSet<(u64, u64)>) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir)?;
    if !walked.insert((meta.dev(), meta.ino())) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir)?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files, walked)?;
        } else if path
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| DOCUMENT_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
        {
            files.push(path);
        }
    }
    Ok(())
}

impl App {
    /// Imports `files` one by one; `progress` is told of each file as it is begun. Many documents are imported in a
    /// bulk session (every one still durable when it is reported).
    pub fn import(
        &self,
        ctx: &Context,
        files: &[PathBuf],
        options: ImportOptions,
        progress: &mut dyn FnMut(&Path),
    ) -> Result<ImportSummary> {
        if files.len() > 1 && !options.overrides.is_empty() {
            return refuse(format!(
                "--organ、--doc-no 等字段只能用于一个文件，这次有 {} 个：请逐个导入需要补全的文件",
                files.len()
            ));
        }
        let mut registered = Registered::load(self)?;
        let mut proposals = crate::proposals::Proposals::load(self)?;
        let bulk = if files.len() > 1 && !options.dry_run { Some(self.store().bulk()?) } else { None };
        let mut outcomes = Vec::with_capacity(files.len());
        for file in files {
            progress(file);
            outcomes.push(match self.import_one(ctx, &mut registered, &mut proposals, file, &options) {
                Ok(outcome) => outcome,
                Err(reason) => failed(file, reason),
            });
        }
        // Every imported document is durable already; a failure to write the deferred projection is reported
        // with the summary (the next open folds what it missed).
        let stopped = match bulk.map(|bulk| bulk.finish()) {
            Some(Err(error)) => Some(error.to_string()),
            _ => None,
        };
        let count = |status: &str| outcomes.iter().filter(|o| o.status == status).count();
        Ok(ImportSummary {
            dry_run: options.dry_run,
            imported: count("imported") + count("would_import"),
            skipped: count("skipped"),
            failed: count("failed"),
            commitments: outcomes.iter().filter(|o| o.status != "skipped").map(|o| o.commitments).sum(),
            incomplete: outcomes.iter().filter(|o| o.status != "skipped" && !o.missing.is_empty()).count(),
            files: outcomes,
            stopped,
        })
    }

    fn import_one(
        &self,
        ctx: &Context,
        registered: &mut Registered,
        proposals: &mut crate::proposals::Proposals,
        file: &Path,
        options: &ImportOptions,
    ) -> std::result::Result<FileOutcome, String> {
        let dry_run = options.dry_run;
        let mut parsed = read_document(file).map_err(|error| error.to_string())?;
        options.overrides.apply(&mut parsed);
        let name = file.file_name().map(|name| name.to_string_lossy().to_string()).unwrap_or_default();
        if let Some(overrides) =
            options.per_file.get(&file.display().to_string()).or_else(|| options.per_file.get(&name))
        {
            overrides.apply(&mut parsed);
        }
        let registration = parsed.registration();
        // Missing fields never stop a reply; a document with nothing of one (a diary, a notice) is not taken for one.
        if parsed.is_not_a_reply() {
            return Err("不像答复文件：未找到答复单位、文号、建议或提案编号、提出人、标题或承诺事项".into());
        }
        let file = file.display().to_string();
        let made = |reply: Ulid| parsed.commitments_made(reply);
        self.register_document(ctx, registered, proposals, &file, registration, &made, None, dry_run)
    }

    /// Registers a document's reply and its promises (`made`, given the reply's id), with a reviewer's changes
    /// (`review`) if any, in one append; links the proposal it answers. Refuses a document registered already, or
    /// another under the same organ and number.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn register_document(
        &self,
        ctx: &Context,
        registered: &mut Registered,
        proposals: &mut crate::proposals::Proposals,
        file: &str,
        registration: ReplyRegistered,
        made: &dyn Fn(Ulid) -> Vec<duban_domain::CommitmentMade>,
        review: Option<duban_domain::IntakeReviewed>,
        dry_run: bool,
    ) -> std::result::Result<FileOutcome, String> {
        let missing = registration.missing();
        let outcome = |status, reply: Ulid, commitments, reason: Option<String>| FileOutcome {
            file: file.to_string(),
            status,
            reply_id: Some(reply.to_string()),
            reply_number: None,
            proposal_number: None,
            commitments,
            reason,
            missing: missing.clone(),
        };
        match registered.clash(&registration) {
            Some(Clash::SameDocument(existing)) => {
                return Ok(outcome("skipped", existing, 0, Some("已导入过（内容相同）".into())));
            }
            Some(Clash::SameNumber(existing)) => {
                // The same reply, read from another document: a corrected copy, or a different reply under the same
                // number. Never a second reply; what differs is offered as an amendment for a person to make.
                let stored = self.store.reply(&existing).ok().flatten().and_then(|reply| reply.registered);
                let amendment = stored.map(|stored| differences(&stored, &registration)).unwrap_or_default();
                let offer = if amendment.is_empty() {
                    "登记信息相同，承诺内容可能不同：请人工核对后处理".to_string()
                } else {
                    format!(
                        "与之不同：{}。若新文件是更正，可运行 duban reply amend {existing} {} --reason 理由",
                        amendment.describe(),
                        amendment_flags(&amendment)
                    )
                };
                return Err(format!(
                    "{} {} 已登记为答复 {existing}，但文件内容不同；{offer}",
                    registration.organ,
                    if registration.doc_no.is_empty() {
                        registration.proposal.describe()
                    } else {
                        registration.doc_no.clone()
                    },
                ));
            }
            None => {}
        }
        let today = ctx.today();
        // Without a signing date (待补全), the reply and its promises are dated the day they are recorded.
        let signed_on = registration.signed_on.unwrap_or(today);
        let reply_id = ctx.new_id();
        let reply_event = Event::ReplyRegistered(Box::new(registration.clone()));
        check_reply_event(&ReplyState::default(), signed_on, &reply_event, today).map_err(|error| error.to_string())?;
        // The reply as it will stand once registered, for checking its commitments against.
        let reply_state = ReplyState::fold(&[ctx.new_event(reply_id, signed_on, reply_event.clone()).sealed(
            1,
            1,
            String::new(),
            String::new(),
        )]);
        let mut reply_events = vec![ctx.new_event(reply_id, signed_on, reply_event)];
        if let Some(review) = review.filter(|review| !review.is_empty()) {
            let event = Event::IntakeReviewed(Box::new(review));
            check_reply_event(&reply_state, signed_on, &event, today).map_err(|error| error.to_string())?;
            reply_events.push(ctx.new_event(reply_id, signed_on, event));
        }
        let mut batches = vec![(reply_id, 0, reply_events)];
        for made in made(reply_id) {
            let event = Event::CommitmentMade(Box::new(made));
            check_commitment_event(&CommitmentState::default(), &reply_state, signed_on, &event, today)
                .map_err(|error| format!("承诺无法登记：{error}"))?;
            let id = ctx.new_id();
            batches.push((id, 0, vec![ctx.new_event(id, signed_on, event)]));
        }
        let commitments = batches.len() - 1;
        // The proposal it answers, if assigned: linked in the same append.
        let mut linked = None;
        if let Some((proposal_id, proposal)) = proposals.answered_by(&registration) {
            let (new_events, folded) =
                crate::proposals::checked_link(ctx, proposal_id, proposal, &reply_state, reply_id, None)
                    .map_err(|error| format!("无法关联到 {}：{error}", proposal.describe()))?;
            batches.push((proposal_id, proposal.version, new_events));
            linked = Some((proposal_id, folded));
        }
        if dry_run {
            return Ok(outcome("would_import", reply_id, commitments, None));
        }
        let sealed = self.append(batches).map_err(|error| error.to_string())?;
        registered.remember(reply_id, &registration);
        let mut notes = Vec::new();
        let proposal_number = linked.map(|(id, state)| {
            let number = state.number;
            notes.push(format!("已关联 {}（#{number}）", state.describe()));
            proposals.remember(id, state);
            number
        });
        if !missing.is_empty() {
            notes.push(format!("待补全：{}", missing.join("、")));
        }
        if commitments == 0 {
            notes.push("未找到承诺事项".to_string());
        }
        let note = (!notes.is_empty()).then(|| notes.join("；"));
        let mut imported = outcome("imported", reply_id, commitments, note);
        imported.reply_number = sealed.first().map(|envelope| envelope.seq);
        imported.proposal_number = proposal_number;
        Ok(imported)
    }
}

/// What a newly read registration says differently from the stored one, as an amendment (fields the new document
/// does not give are left alone).
fn differences(stored: &ReplyRegistered, read: &ReplyRegistered) -> ReplyAmended {
    let text = |stored: &str, read: &str| (!read.trim().is_empty() && stored != read).then(|| read.to_string());
    let optional =
        |stored: &Option<String>, read: &Option<String>| read.clone().filter(|read| Some(read) != stored.as_ref());
    ReplyAmended {
        organ: text(&stored.organ, &read.organ),
        doc_no: text(&stored.doc_no, &read.doc_no),
        signed_on: read.signed_on.filter(|read| Some(*read) != stored.signed_on),
        doc_type: optional(&stored.doc_type, &read.doc_type),
        title: optional(&stored.title, &read.title),
        result: optional(&stored.result, &read.result),
        assembly: optional(&stored.proposal.assembly, &read.proposal.assembly),
        session: optional(&stored.proposal.session, &read.proposal.session),
        number: optional(&stored.proposal.number, &read.proposal.number),
        kind: read.proposal.kind.filter(|kind| Some(*kind) != stored.proposal.kind),
        proposers: (!read.proposers.is_empty() && read.proposers != stored.proposers).then(|| read.proposers.clone()),
        reason: String::new(),
    }
}

/// The `duban reply amend` flags that make `amendment`.
fn amendment_flags(amendment: &ReplyAmended) -> String {
    let mut flags = Vec::new();
    for (_, flag, values) in amendment.changes() {
        for value in values {
            flags.push(format!("--{flag} '{}'", value.replace('\'', "")));
        }
    }
    flags.join(" ")
}

fn failed(file: &Path, reason: String) -> FileOutcome {
    FileOutcome {
        file: file.display().to_string(),
        status: "failed",
        reply_id: None,
        reply_number: None,
        proposal_number: None,
        commitments: 0,
        reason: Some(reason),
        missing: Vec::new(),
    }
}
