//! Evidence files (佐证材料): a progress report may carry files — a scanned notice, a photo, a spreadsheet. Each is
//! kept by the store under its SHA-256 and named in the log by an `EvidenceAttached` fact appended with the report
//! (one append: the report and its files stand or fall together). A file is recognised by its content, not only by
//! its name: a name saying `.pdf` over anything else is refused, so a download is what it says it is.
//!
//! Backups carry the files beside the log's copy (`files/` in the backup folder, shared by every backup there: a
//! file is copied once); a restore takes them back from there.

use std::path::Path;

use duban_domain::{Envelope, Event, EvidenceAttached};
use ulid::Ulid;

use crate::error::{refuse, Result};
use crate::App;

/// The largest file accepted by default (a configurable limit: `duban serve --max-upload-mb`).
pub const DEFAULT_MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

/// A file given with a fact, before it is kept.
#[derive(Clone, Debug)]
pub struct Upload {
    /// As the uploader's machine named it (a folder in front is dropped).
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A kind of file accepted: its extensions, its media type, and what its content must start with (one of).
struct Kind {
    extensions: &'static [&'static str],
    media_type: &'static str,
    magic: &'static [&'static [u8]],
}

const fn kind(extensions: &'static [&'static str], media_type: &'static str, magic: &'static [&'static [u8]]) -> Kind {
    Kind { extensions, media_type, magic }
}

const OLE: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
const KINDS: &[Kind] = &[
    kind(&["pdf"], "application/pdf", &[b"%PDF-"]),
    kind(&["png"], "image/png", &[b"\x89PNG\r\n\x1a\n"]),
    kind(&["jpg", "jpeg"], "image/jpeg", &[b"\xff\xd8\xff"]),
    kind(&["gif"], "image/gif", &[b"GIF87a", b"GIF89a"]),
    kind(&["webp"], "image/webp", &[b"RIFF"]),
    kind(&["bmp"], "image/bmp", &[b"BM"]),
    kind(&["tif", "tiff"], "image/tiff", &[b"II*\0", b"MM\0*"]),
    kind(&["docx"], "application/vnd.openxmlformats-officedocument.wordprocessingml.document", &[b"PK\x03\x04"]),
    kind(&["xlsx"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &[b"PK\x03\x04"]),
    kind(&["doc"], "application/msword", &[OLE]),
    kind(&["xls"], "application/vnd.ms-excel", &[OLE]),
];

/// The file name without any folder a browser or a shell put in front of it, trimmed.
pub fn plain_file_name(name: &str) -> String {
    name.rsplit(['/', '\\']).next().unwrap_or(name).trim().to_string()
}

/// What kind of file `bytes` are, checked against the extension of `name`; a refusal names the file and what is
/// accepted.
pub fn media_type(name: &str, bytes: &[u8], max: usize) -> Result<&'static str> {
    if bytes.is_empty() {
        return refuse(format!("附件“{name}”是空文件"));
    }
    if bytes.len() > max {
        return refuse(format!(
            "附件“{name}”有 {:.1} MB，超过上限 {:.1} MB",
            bytes.len() as f64 / 1048576.0,
            max as f64 / 1048576.0
        ));
    }
    let extension = name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    let Some(Kind { media_type, magic, .. }) = KINDS.iter().find(|kind| kind.extensions.contains(&extension.as_str()))
    else {
        return refuse(format!(
            "附件“{name}”的类型不受支持：可上传 PDF、图片（png、jpg、gif、webp、bmp、tif）、Word（doc、docx）、Excel（xls、xlsx）"
        ));
    };
    let webp = extension != "webp" || bytes.get(8..12) == Some(b"WEBP");
    if !magic.iter().any(|magic| bytes.starts_with(magic)) || !webp {
        return refuse(format!("附件“{name}”的内容不是 {extension} 文件（文件名与内容不符）"));
    }
    Ok(media_type)
}

/// A file of a promise's timeline, as recorded.
#[derive(Clone, Debug)]
pub struct Attachment {
    pub fact: EvidenceAttached,
    pub bytes: Vec<u8>,
}

/// What a restore found of the files its events name.
#[derive(Clone, Debug, Default)]
pub struct RestoredFiles {
    /// Files copied in from the backup's `files/` folder.
    pub copied: usize,
    /// Hashes named by events that the backup folder did not hold (or held damaged).
    pub missing: Vec<String>,
}

impl App {
    /// Keeps each upload and returns the facts naming them (nothing is appended here: the caller appends them with
    /// the report they belong to). Every file is checked before any is kept.
    pub(crate) fn keep_uploads(&self, uploads: &[Upload], max: usize) -> Result<Vec<Event>> {
        let mut kinds = Vec::with_capacity(uploads.len());
        for upload in uploads {
            let name = plain_file_name(&upload.file_name);
            kinds.push((name.clone(), media_type(&name, &upload.bytes, max)?));
        }
        let mut facts = Vec::with_capacity(uploads.len());
        for (upload, (file_name, media_type)) in uploads.iter().zip(kinds) {
            let sha256 = self.store.put_file(&upload.bytes)?;
            facts.push(Event::EvidenceAttached(EvidenceAttached {
                file_name,
                sha256,
                bytes: upload.bytes.len() as u64,
                media_type: media_type.to_string(),
            }));
        }
        Ok(facts)
    }

    /// The file `sha256` as attached to promise `id` — `None` unless a fact of that promise names it, so that
    /// whoever may see a promise may fetch its files and nothing else.
    pub fn attachment(&self, id: &Ulid, sha256: &str) -> Result<Option<Attachment>> {
        let fact = self.store.read_stream(id)?.into_iter().find_map(|envelope| match envelope.event {
            Event::EvidenceAttached(fact) if fact.sha256 == sha256 => Some(fact),
            _ => None,
        });
        let Some(fact) = fact else { return Ok(None) };
        match self.store.file(sha256)? {
            Some(bytes) => Ok(Some(Attachment { fact, bytes })),
            None => refuse(format!(
                "附件“{}”（{sha256}）不在事件库的 files 文件夹中：请从备份的 files 文件夹复制回来",
                fact.file_name
            )),
        }
    }

    /// Copies every kept file that `dir/files/` lacks; returns how many were copied and how many are there.
    pub(crate) fn back_up_files(&self, dir: &Path) -> Result<(usize, usize)> {
        let hashes = self.store.file_hashes()?;
        let mut copied = 0;
        for sha256 in &hashes {
            let target = dir.join("files").join(&sha256[..2]).join(sha256);
            if target.is_file() {
                continue;
            }
            // Read through the store, so a damaged file is reported here instead of copied.
            let Some(bytes) = self.store.file(sha256)? else { continue };
            std::fs::create_dir_all(target.parent().expect("a file's path has a folder"))?;
            duban_store::write_whole(&target, &bytes)?;
            copied += 1;
        }
        Ok((copied, hashes.len()))
    }

    /// Takes back, from `dir/files/`, every file the restored log names.
    pub(crate) fn restore_files(&self, dir: &Path) -> Result<RestoredFiles> {
        let mut named = std::collections::BTreeSet::new();
        self.store.scan_log(1, &mut |envelope: &Envelope| {
            if let Event::EvidenceAttached(fact) = &envelope.event {
                named.insert(fact.sha256.clone());
            }
            true
        })?;
        let mut restored = RestoredFiles::default();
        for sha256 in named {
            let source = dir.join("files").join(&sha256[..2.min(sha256.len())]).join(&sha256);
            match std::fs::read(&source) {
                Ok(bytes) if duban_store::sha256_hex(&bytes) == sha256 => {
                    self.store.put_file(&bytes)?;
                    restored.copied += 1;
                }
                _ => restored.missing.push(sha256),
            }
        }
        Ok(restored)
    }
}
